"""The list of sites: thumbnails, names in the current language, a search filter."""

from __future__ import annotations

import zlib

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from viewer.model.state import SiteInfo, ViewerModel

THUMB = QSize(112, 84)


def placeholder_icon(site_id: str, size: QSize = THUMB) -> QIcon:
    """A coloured tile with the site's initial, shown until the rendered thumbnail exists."""
    hue = zlib.crc32(site_id.encode()) % 360
    pix = QPixmap(size)
    pix.fill(QColor.fromHsv(hue, 90, 150))
    p = QPainter(pix)
    p.setPen(QColor(255, 255, 255, 220))
    font = QFont()
    font.setPixelSize(size.height() // 2)
    font.setBold(True)
    p.setFont(font)
    p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, (site_id[:1] or "?").upper())
    p.end()
    return QIcon(pix)


def image_icon(rgb: np.ndarray) -> QIcon:
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w, _ = rgb.shape
    img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QIcon(QPixmap.fromImage(img))


class SiteList(QWidget):
    site_activated = Signal(str)

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.search = QLineEdit(self)
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setIconSize(THUMB)
        self.list.setSpacing(2)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.setMinimumWidth(250)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self._icons: dict[str, QIcon] = {}
        self.search.textChanged.connect(self._filter)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        model.events.sites.connect(self._rebuild)
        model.events.language.connect(self._rebuild)
        model.events.site.connect(self._select_current)
        self.retranslate()

    def retranslate(self) -> None:
        self.search.setPlaceholderText(self.tr("Search sites…"))
        self._rebuild()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _label(self, site: SiteInfo) -> str:
        name = site.name.get(self.model.language) or site.id
        n = len(site.epochs)
        return f"{name}\n" + (self.tr("1 epoch") if n == 1 else self.tr("%n epochs", "", n))

    def _rebuild(self) -> None:
        self.list.clear()
        for site in self.model.sites:
            item = QListWidgetItem(self._icons.get(site.id) or placeholder_icon(site.id),
                                   self._label(site))
            item.setData(Qt.ItemDataRole.UserRole, site.id)
            item.setToolTip(site.name.get("de") + " / " + site.name.get("en"))
            self.list.addItem(item)
        self._filter(self.search.text())
        self._select_current()

    def _filter(self, text: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            site = next(s for s in self.model.sites
                        if s.id == item.data(Qt.ItemDataRole.UserRole))
            item.setHidden(not site.matches(text))

    def _select_current(self) -> None:
        current = self.model.site.id if self.model.site else None
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == current:
                self.list.setCurrentItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        site_id = item.data(Qt.ItemDataRole.UserRole)
        if not self.model.site or self.model.site.id != site_id:
            self.site_activated.emit(site_id)

    def set_thumbnail(self, site_id: str, rgb: np.ndarray) -> None:
        self._icons[site_id] = image_icon(rgb)
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == site_id:
                item.setIcon(self._icons[site_id])

    def visible_ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]
