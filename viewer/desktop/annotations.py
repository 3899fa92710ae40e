"""Annotations as 3D hotspots: a marker in the scene, a label that follows it, a DE/EN card.

Only the annotations that apply to the shown epoch appear. Labels are Qt widgets placed over the
3D view after every frame, so text is crisp and translatable; the marker is a VTK point.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from viewer.model.state import AnnotationInfo, ViewerModel
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
        self._drawn: tuple[str, ...] = ()
        self.card = AnnotationCard(view.plotter)
        self.card.close_button.clicked.connect(lambda: model.select_annotation(None))
        for signal in (model.events.site, model.events.epoch, model.events.language,
                       model.events.compare):
            signal.connect(self.refresh)
        model.events.annotation.connect(self.show_card)
        view.rendered.connect(self.place)
        self.retranslate()

    def retranslate(self) -> None:
        from PySide6.QtCore import QCoreApplication
        self.card.close_button.setText(QCoreApplication.translate("AnnotationOverlay", "Close"))
        self.refresh()

    def annotations(self) -> list[AnnotationInfo]:
        return self.model.visible_annotations()

    def refresh(self) -> None:
        import pyvista as pv
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
        # markers only over a model (not floating in an empty view while it loads), and the
        # actor is rebuilt only when the set of markers changes
        drawn = tuple(a.id for a in shown) if self.view.layers else ()
        if drawn != self._drawn:
            self._drawn = drawn
            pts = np.array([a.position for a in shown if a.id in drawn],
                           np.float64).reshape(-1, 3)
            self.view.set_overlay_actor(
                "hotspots", pv.PolyData(pts) if len(pts) else None, color=HOTSPOT_COLOUR,
                point_size=14, spheres=True)
        self.show_card()
        self.place()

    def place(self) -> None:
        """Move each label next to its marker's screen position (after every frame)."""
        if self.view.closed:
            return
        by_id = {a.id: a for a in self.annotations()}
        w, h = self.view.plotter.width(), self.view.plotter.height()
        for aid, label in self.labels.items():
            a = by_id.get(aid)
            if a is None:
                continue
            x, y, front = self.view.world_to_widget(a.position)
            visible = front and 0 <= x < w and 0 <= y < h and aid in self._drawn
            label.setVisible(visible)
            if visible:
                label.move(QPoint(int(x) + 10, int(y) - label.height() // 2))
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
        self.card.text.setText(a.text.get(lang))
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
        for a in self.annotations():
            x, y, front = self.view.world_to_widget(a.position)
            d = float(np.hypot(x - pos.x(), y - pos.y()))
            if front and d <= best_d:
                best, best_d = a.id, d
        return best
