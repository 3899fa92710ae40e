"""Home: one big tile per site (thumbnail, name, the years it spans); nothing else to get
lost in."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from viewer.kiosk.style import Metrics
from viewer.model.state import SiteInfo, ViewerModel


def years(site: SiteInfo) -> str:
    dated = [e.date.year for e in site.epochs if e.date]
    if not dated:
        return ""
    lo, hi = min(dated), max(dated)
    return str(lo) if lo == hi else f"{lo} – {hi}"


class SiteTile(QPushButton):
    """A whole tile is one button: thumbnail on top, name and years below."""

    def __init__(self, site: SiteInfo, metrics: Metrics, parent: QWidget | None = None):
        super().__init__(parent)
        self.site = site
        self.setObjectName("tile")
        self.setStyleSheet(f"#tile {{ padding: 0; min-width: {metrics.px(520)}px; "
                           f"min-height: {metrics.px(470)}px; max-width: {metrics.px(760)}px; }}")
        self.image = QLabel(self)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(QSize(metrics.px(440), metrics.px(275)))
        self.image.setStyleSheet("background: #2a333c; border-radius: 8px;")
        self.name = QLabel(self)
        self.name.setObjectName("title")
        self.name.setWordWrap(True)
        self.span = QLabel(years(site), self)
        for label in (self.image, self.name, self.span):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(metrics.gap, metrics.gap, metrics.gap, metrics.gap)
        layout.setSpacing(metrics.px(12))
        layout.addWidget(self.image, 1)
        layout.addWidget(self.name)
        layout.addWidget(self.span)

    def set_language(self, language: str) -> None:
        self.name.setText(self.site.name.get(language))

    def set_thumbnail(self, rgb: np.ndarray) -> None:
        rgb = np.ascontiguousarray(rgb[..., :3])
        h, w = rgb.shape[:2]
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.image.setPixmap(QPixmap.fromImage(image).scaled(
            self.image.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding,
            Qt.TransformationMode.SmoothTransformation))


class HomeScreen(QWidget):
    site_chosen = Signal(str)

    def __init__(self, model: ViewerModel, metrics: Metrics, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("home")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.model, self.metrics = model, metrics
        self.order: list[str] = []
        self.tiles: dict[str, SiteTile] = {}
        self.heading = QLabel(self)
        self.heading.setObjectName("huge")
        self.subheading = QLabel(self)
        self.subheading.setWordWrap(True)
        self.empty = QLabel(self)
        self.empty.setWordWrap(True)
        self.grid = QGridLayout()
        self.grid.setSpacing(metrics.gap * 2)
        layout = QVBoxLayout(self)
        g = metrics.px(64)
        layout.setContentsMargins(g, metrics.px(48), g, g)
        layout.addWidget(self.heading)
        layout.addWidget(self.subheading)
        layout.addSpacing(metrics.gap * 2)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addLayout(self.grid)
        layout.addWidget(self.empty)
        layout.addStretch(1)
        model.events.sites.connect(self.rebuild)
        model.events.language.connect(self.retranslate)
        self.retranslate()

    def set_order(self, order: list[str]) -> None:
        self.order = list(order)
        self.rebuild()

    def shown_sites(self) -> list[SiteInfo]:
        by_id = {s.id: s for s in self.model.sites}
        ids = [i for i in self.order if i in by_id] if self.order else list(by_id)
        return [by_id[i] for i in ids]

    def rebuild(self) -> None:
        for tile in self.tiles.values():
            tile.deleteLater()
        self.tiles = {}
        sites = self.shown_sites()
        cols = 3 if len(sites) > 4 else max(min(len(sites), 3), 1)
        for i, site in enumerate(sites):
            tile = SiteTile(site, self.metrics, self)
            tile.clicked.connect(lambda _=False, sid=site.id: self.site_chosen.emit(sid))
            tile.set_language(self.model.language)
            self.grid.addWidget(tile, i // cols, i % cols)
            self.tiles[site.id] = tile
        self.empty.setVisible(not sites)

    def set_thumbnail(self, site_id: str, rgb: np.ndarray) -> None:
        if site_id in self.tiles:
            self.tiles[site_id].set_thumbnail(rgb)

    def retranslate(self) -> None:
        self.heading.setText(self.tr("Places over time"))
        self.subheading.setText(self.tr("Choose a place and see how it has changed."))
        self.empty.setText(self.tr("No places to show yet."))
        for tile in self.tiles.values():
            tile.set_language(self.model.language)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
