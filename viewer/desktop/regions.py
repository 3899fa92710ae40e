"""The list of changed regions (plain name, sign, area, volume); choosing one flies the camera
there. Numbers follow the UI language ("−2.621,3 m³" in German) and columns fit their text."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from viewer.model.change_display import format_area, format_volume
from viewer.model.state import AnnotationInfo, Region, ViewerModel


def region_name(region: Region, annotations: list[AnnotationInfo], language: str) -> str | None:
    """The title of the annotation nearest the region's centre, if it lies within the region
    (in plan view, within half the region's size of its centre)."""
    if region.centroid is None:
        return None
    best, best_d = None, region.size / 2
    for a in annotations:
        d = ((a.position[0] - region.centroid[0]) ** 2 +
             (a.position[1] - region.centroid[1]) ** 2) ** 0.5
        if d <= best_d:
            best, best_d = a, d
    return best.title.get(language) if best else None


class _Row(QTreeWidgetItem):
    """Sorts by number, not by text ("10" after "9"); volume by magnitude."""

    region: Region

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        if isinstance(other, _Row):
            a, b = self.region, other.region
            keys = {0: lambda r: (abs(r.volume or 0.0), r.id), 1: lambda r: (r.area or 0.0, r.id),
                    2: lambda r: (r.sign, r.id)}
            if col == 3:
                return self.text(3) < other.text(3)
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
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # the largest volume first
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        model.events.change.connect(self.refresh)
        model.events.language.connect(self.refresh)
        model.events.site.connect(self.refresh)
        self.retranslate()

    def retranslate(self) -> None:
        # numbers first: a narrow panel clips the last column (the name), never a number
        self.tree.setHeaderLabels([self.tr("Volume"), self.tr("Area"), self.tr("Change"),
                                   self.tr("Name")])
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def refresh(self) -> None:
        self.tree.clear()
        m = self.model
        ch, lang = m.change, m.language
        annotations = list(m.site.annotations) if m.site else []
        for region in ch.regions if ch else []:
            kind = self.tr("added") if region.sign > 0 else self.tr("removed")
            volume = "" if region.volume is None else format_volume(region.volume, lang)
            if volume and region.partial:  # one scan did not reach all of it: a bound
                volume = ("≥ " if region.sign > 0 else "≤ ") + volume
            item = _Row([volume,
                         "" if region.area is None else format_area(region.area, lang), kind,
                         region_name(region, annotations, lang) or ""])
            item.setToolTip(3, self.tr("Region %1").replace("%1", region.id))
            if region.partial:
                item.setToolTip(0, self.tr("At least this much: one of the two scans did not "
                                           "reach all of this region."))
            item.region = region
            item.setData(0, Qt.ItemDataRole.UserRole, region)
            for col in (0, 1):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight)
            item.setForeground(2, QBrush(QColor("#b2182b" if region.sign > 0 else "#2166ac")))
            self.tree.addTopLevelItem(item)
        self.tree.sortItems(self.tree.sortColumn(), self.tree.header().sortIndicatorOrder())

    def _clicked(self, item: QTreeWidgetItem) -> None:
        region: Region = item.data(0, Qt.ItemDataRole.UserRole)
        if region is not None and region.centroid is not None:
            self.region_activated.emit(region)
