"""Annotations as 3D hotspots: a marker in the scene, a label that follows it, a DE/EN card.

Each view shows the annotations of the epochs it draws (in side by side, A's on the left view
and B's on the right; in swipe, each on its side of the divider). Labels are Qt widgets placed
over the 3D view after every frame by `viewer.render.labels`: a label whose anchor a drawn
surface hides is hidden with its marker, and labels never overlap (the selected one wins, then
the nearer). The marker is a VTK point on the view's overlay layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from viewer.model.state import AnnotationInfo, CompareMode, ViewerModel
from viewer.render.labels import DepthProbe, LabelItem, PlacedLabel, place_labels
from viewer.render.vtk_view import SceneView

HOTSPOT_COLOUR = "#ffd43b"


class AnnotationCard(QFrame):
    """Title and text of the selected annotation, in the current language."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("annotation-card")
        self.setStyleSheet("#annotation-card { background: rgba(255,255,255,240); "
                           "border: 1px solid #888; border-radius: 6px; } "
                           "QLabel { color: #222; }")
        self.title = QLabel(self)
        self.title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.title.setWordWrap(True)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.close_button = QPushButton(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight)
        self.setFixedWidth(300)
        self.hide()


class AnnotationOverlay:
    """Keeps hotspot markers, labels and the card of one view in step with the model."""

    def __init__(self, model: ViewerModel, view: SceneView):
        self.model, self.view = model, view
        self.labels: dict[str, QToolButton] = {}
        self._markers: tuple[str, ...] | None = None  # markers on screen (not hidden)
        self.placed: dict[str, PlacedLabel] = {}
        self.probe = DepthProbe(view.renderer)
        # while the camera moves, labels are hidden: each moved widget over the GL view is a
        # repaint of the window's raster layer (and its upload) in every frame
        self.moving: Callable[[], bool] = lambda: False
        self.probe.active = lambda: not self.moving()  # depth reads stall a frame: not then
        self.card = AnnotationCard(view.plotter)
        self.card.close_button.clicked.connect(lambda: model.select_annotation(None))
        for signal in (model.events.site, model.events.epoch, model.events.language,
                       model.events.compare):
            signal.connect(self.refresh)
        model.events.annotation.connect(self.show_card)
        view.rendered.connect(self.place)
        self.retranslate()

    def retranslate(self) -> None:
        self.card.close_button.setText(QCoreApplication.translate("AnnotationOverlay", "Close"))
        self.refresh()

    def annotations(self) -> list[AnnotationInfo]:
        return self.model.visible_annotations(self.model.view_epochs(self.view.role))

    def refresh(self) -> None:
        if not shiboken6.isValid(self.view):
            return  # the window is gone; its model may still emit
        shown = self.annotations()
        ids = {a.id for a in shown}
        for aid in [k for k in self.labels if k not in ids]:
            self.labels.pop(aid).deleteLater()
        lang = self.model.language
        for a in shown:
            label = self.labels.get(a.id)
            if label is None:
                label = QToolButton(self.view.plotter)
                label.setObjectName(f"hotspot-{a.id}")
                label.setStyleSheet(
                    "QToolButton { background: rgba(20,20,20,200); color: white; border: 1px "
                    f"solid {HOTSPOT_COLOUR}; border-radius: 9px; padding: 2px 8px; }}")
                label.clicked.connect(lambda _=False, i=a.id: self.model.select_annotation(i))
                self.labels[a.id] = label
            label.setText("● " + a.title.get(lang))
            label.adjustSize()
        if self.model.selected_annotation not in ids:
            self.card.hide()
        self.probe.watch([a.position for a in shown])
        self.show_card()
        self.view.request_render()  # the probe reads the new anchors' depth in that frame

    def _side_ok(self, a: AnnotationInfo, x: float, width: float) -> bool:
        """In swipe, an annotation of only one epoch belongs to that epoch's side."""
        m = self.model
        if m.compare_mode != CompareMode.SWIPE or self.view.role != "primary" or \
                (a.applies_to(m.epoch_a) and a.applies_to(m.epoch)):
            return True
        left = x < m.swipe_position * width
        return left if a.applies_to(m.epoch_a) else not left

    def place(self) -> None:
        """After every frame: each label next to its marker where nothing hides it and no other
        label is; markers of hidden anchors go too."""
        if not shiboken6.isValid(self.view) or self.view.closed:
            return
        if self.moving():
            for label in self.labels.values():
                if label.isVisible():
                    label.hide()
            return
        plotter = self.view.plotter
        w, h = plotter.width(), plotter.height()
        # markers only over a model (not floating in an empty view while it loads)
        shown = [a for a in self.annotations() if a.id in self.labels] if self.view.layers else []
        selected = self.model.selected_annotation
        items = [LabelItem(a.id, a.position, (self.labels[a.id].width(),
                                              self.labels[a.id].height()),
                           priority=1.0 if a.id == selected else 0.0) for a in shown]
        reserved = []
        if self.model.compare_mode == CompareMode.SWIPE and self.view.role == "primary":
            x = self.model.swipe_position * w  # no label across the divider
            reserved.append((x - 2, 0.0, 4.0, float(h)))
        placed = place_labels(self.view.renderer, items, (w, h), occlusion=self.probe,
                              pixel_ratio=plotter.devicePixelRatioF(), reserved=reserved)
        by_id = {a.id: a for a in shown}
        self.placed = {}
        for p in placed:
            if p.rect is not None and not self._side_ok(by_id[p.key], p.anchor_px[0], w):
                p = PlacedLabel(p.key, p.anchor_px, None, "other-side")
            self.placed[p.key] = p
        for aid, label in self.labels.items():
            p = self.placed.get(aid)
            label.setVisible(p is not None and p.visible)
            if p is not None and p.visible:
                label.move(QPoint(round(p.rect[0]), round(p.rect[1])))
        markers = tuple(p.key for p in self.placed.values()
                        if p.reason in ("shown", "overlap"))
        if markers != self._markers:  # rebuilt only when the set changes, then one more frame
            self._markers = markers
            import pyvista as pv
            pts = np.array([by_id[k].position for k in markers], np.float64).reshape(-1, 3)
            self.view.set_overlay_actor(
                "hotspots", pv.PolyData(pts) if len(pts) else None, color=HOTSPOT_COLOUR,
                point_size=14, spheres=True)
        if self.card.isVisible():
            self._place_card()

    def show_card(self) -> None:
        aid = self.model.selected_annotation
        a = next((x for x in self.annotations() if x.id == aid), None)
        if a is None:
            self.card.hide()
            return
        lang = self.model.language
        self.card.title.setText(a.title.get(lang))
        other = QCoreApplication.translate("AnnotationOverlay", "(only in English)") \
            if lang == "de" else QCoreApplication.translate("AnnotationOverlay", "(only in German)")
        self.card.text.setText(a.text.get(lang) + (f" {other}" if a.text.only_in_other(lang)
                                                   else ""))
        self.card.adjustSize()
        self.card.show()
        self.card.raise_()
        self._place_card()

    def _place_card(self) -> None:
        aid = self.model.selected_annotation
        label = self.labels.get(aid or "")
        w, h = self.view.plotter.width(), self.view.plotter.height()
        if label is not None and label.isVisible():
            x, y = label.x(), label.y() + label.height() + 6
        else:
            x, y = 12, 12
        self.card.move(QPoint(max(0, min(x, w - self.card.width() - 4)),
                              max(0, min(y, h - self.card.height() - 4))))

    def hit(self, pos: QPoint, radius: float = 14.0) -> str | None:
        """The annotation whose marker is within `radius` pixels of a click."""
        best, best_d = None, radius
        for aid in self._markers or ():
            x, y = self.placed[aid].anchor_px
            d = float(np.hypot(x - pos.x(), y - pos.y()))
            if d <= best_d:
                best, best_d = aid, d
        if best is None:  # a click on a label selects its annotation too
            for aid, p in self.placed.items():
                if p.visible and p.rect[0] <= pos.x() <= p.rect[0] + p.rect[2] and \
                        p.rect[1] <= pos.y() <= p.rect[1] + p.rect[3]:
                    return aid
        return best
