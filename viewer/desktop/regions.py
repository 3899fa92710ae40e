"""The list of changed regions (sign, area, volume); choosing one flies the camera there."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from viewer.model.state import Region, ViewerModel


class _Row(QTreeWidgetItem):
    """Sorts by number, not by text ("10" after "9"); volume by magnitude."""

    region: Region

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        if isinstance(other, _Row):
            a, b = self.region, other.region
            keys = {0: lambda r: (float(r.id) if r.id.isdigit() else 0.0, r.id),
                    1: lambda r: (r.sign, r.id), 2: lambda r: (r.area or 0.0, r.id),
                    3: lambda r: (abs(r.volume or 0.0), r.id)}
            return keys.get(col, keys[0])(a) < keys.get(col, keys[0])(b)
        return super().__lt__(other)


class RegionsList(QWidget):
    region_activated = Signal(object)   # Region

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.tree = QTreeWidget(self)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        model.events.change.connect(self.refresh)
        model.events.language.connect(self.refresh)
        self.retranslate()

    def retranslate(self) -> None:
        self.tree.setHeaderLabels([self.tr("#"), self.tr("Change"), self.tr("Area (m²)"),
                                   self.tr("Volume (m³)")])
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def refresh(self) -> None:
        self.tree.clear()
        ch = self.model.change
        for region in ch.regions if ch else []:
            kind = self.tr("added") if region.sign > 0 else self.tr("removed")
            item = _Row([region.id, kind,
                         "" if region.area is None else f"{region.area:.1f}",
                         "" if region.volume is None else f"{region.volume:+.1f}"])
            item.region = region
            item.setData(0, Qt.ItemDataRole.UserRole, region)
            for col in (2, 3):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight)
            item.setForeground(1, QBrush(QColor("#b2182b" if region.sign > 0 else "#2166ac")))
            self.tree.addTopLevelItem(item)
        self.tree.sortItems(self.tree.sortColumn(), self.tree.header().sortIndicatorOrder())
        for col in range(4):
            self.tree.resizeColumnToContents(col)

    def _clicked(self, item: QTreeWidgetItem) -> None:
        region: Region = item.data(0, Qt.ItemDataRole.UserRole)
        if region is not None and region.centroid is not None:
            self.region_activated.emit(region)
