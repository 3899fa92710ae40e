"""Change heatmap controls: the colour legend (plain words at its ends, the sentence saying how
its limits were chosen), the histogram of exactly the values the colours show, and the
"significant only" toggle with its state spelled out."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QCheckBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from viewer.model.change_display import (
    ColourScale,
    format_length,
    format_number,
    legend_ends,
)
from viewer.model.scene import INSIGNIFICANT_GREY, diverging_colormap, histogram
from viewer.model.state import ChangeData, ViewerModel

HIST_BINS = 41


class ColorLegend(QWidget):
    """The diverging colour bar from -limit to +limit, ticks in the UI language, plain words
    at both ends ("-5 m lowered / removed" ... "+5 m raised / added")."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.limit: float | None = None
        self.lod: float | None = None
        self.language = "en"
        self.ends = ("", "")
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(260, self.minimumHeight())

    def set_range(self, limit: float | None, lod: float | None, language: str = "en") -> None:
        self.limit, self.lod, self.language = limit, lod, language
        self.ends = legend_ends(limit, language) if limit else ("", "")
        fm = self.fontMetrics()
        self.setMinimumHeight(20 + 2 * fm.height() + 8)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        if not self.limit:
            return
        p = QPainter(self)
        fm = p.fontMetrics()
        lut = diverging_colormap(256)
        x0, w, h = 6.0, self.width() - 12.0, 16.0
        for i in range(int(w)):
            c = lut[int(i / max(w - 1, 1) * 255)]
            p.setPen(QColor(int(c[0]), int(c[1]), int(c[2])))
            p.drawLine(QPointF(x0 + i, 2), QPointF(x0 + i, 2 + h))
        if self.lod and self.lod < self.limit:
            p.setPen(QPen(QColor(0, 0, 0, 160), 1, Qt.PenStyle.DashLine))
            for s in (-1, 1):
                x = x0 + (s * self.lod / self.limit + 1) / 2 * w
                p.drawLine(QPointF(x, 0), QPointF(x, 4 + h))
        p.setPen(self.palette().text().color())
        line = fm.height()
        for f in (-1, 0, 1):
            x = x0 + (f + 1) / 2 * w
            p.drawLine(QPointF(x, 2 + h), QPointF(x, 6 + h))
        p.drawText(QRectF(x0 + w / 2 - 40, 8 + h, 80, line), Qt.AlignmentFlag.AlignCenter,
                   "0")
        # the ends in words under the numbers, each in its half (never overlapping)
        low, high = (e.split(" ", 2)[-1] for e in self.ends)
        half = w / 2 - 4
        p.drawText(QRectF(x0, 8 + h + line, half, line), Qt.AlignmentFlag.AlignLeft,
                   fm.elidedText(low, Qt.TextElideMode.ElideRight, int(half)))
        p.drawText(QRectF(x0 + w - half, 8 + h + line, half, line), Qt.AlignmentFlag.AlignRight,
                   fm.elidedText(high, Qt.TextElideMode.ElideRight, int(half)))
        p.drawText(QRectF(x0, 8 + h, w, line), Qt.AlignmentFlag.AlignLeft,
                   format_length(-self.limit, self.language))
        p.drawText(QRectF(x0, 8 + h, w, line), Qt.AlignmentFlag.AlignRight,
                   format_length(self.limit, self.language, signed=True))
        p.end()


class HistogramWidget(QWidget):
    """How many vertices show each colour: bars over exactly the legend's range (values beyond
    it fall into the end bars, as they are drawn at full colour), coloured like the heatmap,
    grey inside the level of detection; labelled axes with units."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self.limit = 1.0
        self.lod: float | None = None
        self.language = "en"
        self.x_title = ""
        self.y_title = ""
        self.setMinimumHeight(160)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(260, 170)

    @property
    def range(self) -> tuple[float, float] | None:
        if self.edges is None:
            return None
        return float(self.edges[0]), float(self.edges[-1])

    def set_data(self, counts: np.ndarray | None, edges: np.ndarray | None, limit: float,
                 lod: float | None, language: str = "en") -> None:
        self.counts, self.edges, self.limit, self.lod = counts, edges, limit, lod
        self.language = language
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        if self.counts is None or self.edges is None or not len(self.counts):
            return
        p = QPainter(self)
        fm = p.fontMetrics()
        line = fm.height()
        peak = int(self.counts.max())
        peak_text = format_number(peak, self.language, 0)
        left = 8.0 + line                                   # the rotated y title
        x0 = left + fm.horizontalAdvance(peak_text) + 6
        w = self.width() - x0 - 8
        top, h = 4.0, self.height() - 4.0 - 2 * line - 8
        lut = diverging_colormap(256)
        scale = float(np.log1p(peak)) or 1.0
        lo, hi = -self.limit, self.limit
        for c, a, b in zip(self.counts, self.edges[:-1], self.edges[1:], strict=False):
            mid = (a + b) / 2
            colour = lut[int(np.clip((mid / self.limit + 1) / 2, 0, 1) * 255)]
            if self.lod and abs(mid) < self.lod:
                colour = INSIGNIFICANT_GREY
            bar_h = np.log1p(c) / scale * h  # log scale: the few large changes stay visible
            xa = x0 + (a - lo) / (hi - lo) * w
            xb = x0 + (b - lo) / (hi - lo) * w
            p.fillRect(QRectF(xa, top + h - bar_h, max(xb - xa - 1, 1), bar_h),
                       QColor(int(colour[0]), int(colour[1]), int(colour[2])))
        text = self.palette().text().color()
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawLine(QPointF(x0, top + h), QPointF(x0 + w, top + h))
        p.drawLine(QPointF(x0, top), QPointF(x0, top + h))
        p.setPen(text)
        # y axis: the highest bar's count and 0, its title rotated
        p.drawText(QRectF(left, top - 2, x0 - left - 4, line), Qt.AlignmentFlag.AlignRight,
                   peak_text)
        p.drawText(QRectF(left, top + h - line, x0 - left - 4, line),
                   Qt.AlignmentFlag.AlignRight, "0")
        p.save()
        p.translate(4, top + h / 2)
        p.rotate(-90)
        p.drawText(QRectF(-h / 2, 0, h, line), Qt.AlignmentFlag.AlignCenter, self.y_title)
        p.restore()
        # x axis: the legend's ends and zero, then its title
        ticks = ((0.0, Qt.AlignmentFlag.AlignLeft, "≤ " + format_length(lo, self.language)),
                 (0.5, Qt.AlignmentFlag.AlignHCenter, "0"),
                 (1.0, Qt.AlignmentFlag.AlignRight,
                  "≥ " + format_length(hi, self.language, signed=True)))
        for f, align, label in ticks:
            x = x0 + f * w
            p.drawLine(QPointF(x, top + h), QPointF(x, top + h + 3))
            rect = QRectF(x - w / 2, top + h + 3, w, line) if f == 0.5 else \
                QRectF(x0, top + h + 3, w, line)
            p.drawText(rect, align | Qt.AlignmentFlag.AlignTop, label)
        p.drawText(QRectF(x0, top + h + 3 + line, w, line), Qt.AlignmentFlag.AlignCenter,
                   self.x_title)
        p.end()


class HeatmapPanel(QWidget):
    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.legend = ColorLegend(self)
        self.scale_note = QLabel(self)
        self.scale_note.setWordWrap(True)
        self.scale_note.setObjectName("scale-note")
        self.hist = HistogramWidget(self)
        self.significant = QCheckBox(self)
        self.state = QLabel(self)              # what the colours show now: obvious, not subtle
        self.state.setWordWrap(True)
        self.state.setObjectName("significant-state")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for w in (self.title, self.legend, self.scale_note, self.hist, self.significant,
                  self.state, self.info):
            layout.addWidget(w)
        layout.addStretch(1)
        self.significant.toggled.connect(model.set_significant_only)
        for signal in (model.events.change, model.events.compare, model.events.epoch,
                       model.events.language):
            signal.connect(self.refresh)
        self.retranslate()

    def method_name(self, method: str) -> str:
        names = {"dod": self.tr("DEM difference (DoD, ground and roofs from above)"),
                 "m3c2": self.tr("M3C2 (3D distance along the surface normal)"),
                 "c2m": self.tr("Cloud-to-mesh distance (C2M)"),
                 "c2c": self.tr("Cloud-to-cloud distance (C2C)")}
        key = method.split()[0].lower() if method else ""
        return names.get(key, method)

    def retranslate(self) -> None:
        self.significant.setText(self.tr("Significant change only"))
        self.significant.setToolTip(self.tr(
            "Grey out change smaller than the level of detection (95 %)"))
        self.hist.x_title = self.tr("Change (m)")
        self.hist.y_title = self.tr("Vertices (log)")
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def refresh(self) -> None:
        m, ch = self.model, self.model.change
        self.significant.blockSignals(True)
        self.significant.setChecked(m.significant_only)
        self.significant.blockSignals(False)
        self._show_state()
        if ch is None:
            self.title.setText(self.tr("Change from A (%1) to B (%2)").replace(
                "%1", m.epoch_a or "–").replace("%2", m.epoch or "–"))
            self.legend.set_range(None, None)
            self.scale_note.setText("")
            self.hist.set_data(None, None, 1.0, None)
            self.info.setText(self.tr("Choose the Change mode to compute or load the change."))
            self.significant.setEnabled(False)
            return
        self.set_change(ch)

    def _show_state(self) -> None:
        if self.model.significant_only:
            g = INSIGNIFICANT_GREY
            self.state.setText(self.tr("Showing significant change only: change smaller than "
                                       "the level of detection is grey."))
            self.state.setStyleSheet(
                f"#significant-state {{ background: rgb({g[0]},{g[1]},{g[2]}); color: black; "
                "font-weight: bold; padding: 4px; border-radius: 3px; }")
        else:
            self.state.setText(self.tr("Showing all change, small change included."))
            self.state.setStyleSheet("#significant-state { padding: 4px; }")

    def set_change(self, ch: ChangeData) -> None:
        lang = self.model.language
        scale: ColourScale = ch.scale()
        limit = scale.limit
        self.title.setText(self.tr("Change from A (%1) to B (%2)").replace("%1", ch.a)
                           .replace("%2", ch.b))
        self.legend.set_range(limit, ch.level_of_detection, lang)
        self.scale_note.setText(scale.explain(lang))
        # exactly what the colours show: the finite values over the legend's range
        counts, edges = histogram(ch.values, limit, HIST_BINS)
        self.hist.set_data(counts, edges, limit, ch.level_of_detection, lang)
        self.significant.setEnabled(ch.level_of_detection is not None
                                    or ch.significant is not None)
        finite = np.isfinite(ch.values)
        lines = []
        if ch.level_of_detection is not None:
            lines.append(self.tr("Level of detection: %1").replace(
                "%1", format_length(ch.level_of_detection, lang)))
        else:
            lines.append(self.tr("No level of detection is known for this product."))
        if ch.method:
            lines.append(self.tr("Method: %1").replace("%1", self.method_name(ch.method)))
        if ch.computed:
            lines.append(self.tr("Computed by the viewer (not stored in the archive)."))
        if ch.b in self.model.unreadable:
            lines.insert(0, self.tr("The mesh of %1 could not be read, so these values cannot "
                                    "be drawn (see the message above the view).")
                         .replace("%1", ch.b))
        if not finite.all():
            lines.append(self.tr("%1 % of the surface has no value (dark grey): "
                                 "not seen in both scans.").replace(
                "%1", format_number(100 * (1 - finite.mean()), lang, 1)))
        self.info.setText("\n".join(lines))
