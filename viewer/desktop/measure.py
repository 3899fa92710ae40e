"""Measuring in the site CRS: distance, height difference and polygon area, by picking points.

Points are kept in the site frame (float64) and shown as E/N/H = site frame + origin, computed
in float64 so UTM northings keep millimetres.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from viewer.model.change_display import format_number
from viewer.model.state import MeasureMode, ViewerModel

MODES = [MeasureMode.OFF, MeasureMode.DISTANCE, MeasureMode.HEIGHT, MeasureMode.AREA]


def marker_geometry(points: np.ndarray, closed: bool):
    """pyvista PolyData for the picked points and the line through them (site frame)."""
    import pyvista as pv
    pts = pv.PolyData(np.asarray(points, np.float64))
    line = None
    if len(points) >= 2:
        idx = list(range(len(points))) + ([0] if closed and len(points) >= 3 else [])
        line = pv.PolyData(np.asarray(points, np.float64), lines=np.array([len(idx), *idx]))
    return pts, line


class MeasurePanel(QWidget):
    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.group = QButtonGroup(self)
        self.buttons: dict[MeasureMode, QPushButton] = {}
        row = QHBoxLayout()
        for i, mode in enumerate(MODES):
            b = QPushButton(self)
            b.setCheckable(True)
            self.group.addButton(b, i)
            self.buttons[mode] = b
            row.addWidget(b)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.results = QTextBrowser(self)
        self.clear_button = QPushButton(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.clear_button)
        self.group.idClicked.connect(lambda i: model.set_measure_mode(MODES[i]))
        self.clear_button.clicked.connect(model.clear_measurement)
        for signal in (model.events.measure, model.events.language, model.events.site):
            signal.connect(self.refresh)
        self.retranslate()

    def retranslate(self) -> None:
        texts = {MeasureMode.OFF: self.tr("Off"), MeasureMode.DISTANCE: self.tr("Distance"),
                 MeasureMode.HEIGHT: self.tr("Height"), MeasureMode.AREA: self.tr("Area")}
        tips = {MeasureMode.OFF: self.tr("Stop measuring (Esc)"),
                MeasureMode.DISTANCE: self.tr("Distance between two points (Ctrl+M)"),
                MeasureMode.HEIGHT: self.tr("Height difference between two points (Ctrl+H)"),
                MeasureMode.AREA: self.tr("Area of a polygon (Ctrl+P)")}
        for mode, b in self.buttons.items():
            b.setText(texts[mode])
            b.setToolTip(tips[mode])
        self.clear_button.setText(self.tr("Clear"))
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def refresh(self) -> None:
        m = self.model
        meas = m.measurement
        self.buttons[meas.mode].setChecked(True)
        hints = {MeasureMode.OFF: self.tr("Choose a tool, then click on the model."),
                 MeasureMode.DISTANCE: self.tr("Click two points on the model."),
                 MeasureMode.HEIGHT: self.tr("Click a lower and an upper point."),
                 MeasureMode.AREA: self.tr("Click the corners of the polygon (at least three).")}
        self.hint.setText(hints[meas.mode])
        self.results.setHtml(self.html())

    def _n(self, value: float, decimals: int = 3, signed: bool = False) -> str:
        return format_number(value, self.model.language, decimals, signed)

    def headline(self) -> str:
        """The main result in one line, for the 3D view: "Distance: 80.012 m"."""
        meas = self.model.measurement
        r = meas.results()
        if "distance" in r and meas.mode == MeasureMode.DISTANCE:
            return f"{self.tr('Distance')}: {self._n(r['distance'])} m"
        if "height" in r:
            return f"{self.tr('Height difference')}: {self._n(r['height'], signed=True)} m"
        if "area" in r:
            return f"{self.tr('Area (horizontal)')}: {self._n(r['area'], 2)} m²"
        return ""

    def html(self) -> str:
        m = self.model
        meas = m.measurement
        if not meas.points:
            return ""
        crs = m.site.crs if m.site else ""
        heading = self.tr("Coordinates in %1").replace("%1", crs)
        rows = [f"<p><b>{heading}</b><br>"]
        for i, p in enumerate(meas.points, 1):
            e, n, h = m.site_to_crs(p)
            rows.append(f"{i}: E {self._n(e)} &nbsp;N {self._n(n)} &nbsp;H {self._n(h)}<br>")
        rows.append("</p>")
        r = meas.results()
        horizontal = self.tr("horizontal")
        if "distance" in r and meas.mode == MeasureMode.DISTANCE:
            distance, dz = self.tr("Distance"), self.tr("height difference")
            rows.append(f"<p><b>{distance}: {self._n(r['distance'])} m</b><br>"
                        f"{horizontal}: {self._n(r['horizontal'])} m<br>"
                        f"{dz}: {self._n(r['height'], signed=True)} m</p>")
        elif "height" in r:
            dz = self.tr("Height difference")
            rows.append(f"<p><b>{dz}: {self._n(r['height'], signed=True)} m</b><br>"
                        f"{horizontal}: {self._n(r['horizontal'])} m</p>")
        elif "area" in r:
            flat, plane = self.tr("Area (horizontal)"), self.tr("Area (in the polygon plane)")
            perimeter = self.tr("Perimeter")
            rows.append(f"<p><b>{flat}: {self._n(r['area'], 2)} m²</b><br>"
                        f"{plane}: {self._n(r['area_3d'], 2)} m²<br>"
                        f"{perimeter}: {self._n(r['perimeter'], 2)} m</p>")
        return "".join(rows)

    def result_text(self) -> str:
        return self.results.toPlainText()
