"""Change heatmap controls: colour legend in metres, histogram, "significant only" toggle."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QCheckBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from viewer.model.scene import INSIGNIFICANT_GREY, diverging_colormap, histogram
from viewer.model.state import ChangeData, ViewerModel


def _fmt_m(v: float) -> str:
    return f"{v:+.2f} m" if abs(v) < 10 else f"{v:+.1f} m"


class ColorLegend(QWidget):
    """The diverging colour bar with ticks at -limit, -limit/2, 0, +limit/2, +limit."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.limit: float | None = None
        self.lod: float | None = None
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(260, 46)

    def set_range(self, limit: float | None, lod: float | None) -> None:
        self.limit, self.lod = limit, lod
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        if not self.limit:
            return
        p = QPainter(self)
        lut = diverging_colormap(256)
        x0, w, h = 28.0, self.width() - 56.0, 16.0
        for i in range(int(w)):
            c = lut[int(i / max(w - 1, 1) * 255)]
            p.setPen(QColor(int(c[0]), int(c[1]), int(c[2])))
            p.drawLine(QPointF(x0 + i, 2), QPointF(x0 + i, 2 + h))
        if self.lod and self.lod < self.limit:
            p.setPen(QPen(QColor(0, 0, 0, 160), 1, Qt.PenStyle.DashLine))
            for s in (-1, 1):
                x = x0 + (s * self.lod / self.limit + 1) / 2 * w
                p.drawLine(QPointF(x, 0), QPointF(x, 4 + h))
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 6))
        p.setFont(small)
        p.setPen(self.palette().text().color())
        for f in (-1, -0.5, 0, 0.5, 1):
            x = x0 + (f + 1) / 2 * w
            p.drawLine(QPointF(x, 2 + h), QPointF(x, 6 + h))
            text = "0 m" if f == 0 else _fmt_m(f * self.limit)
            p.drawText(QRectF(x - 40, 8 + h, 80, 16), Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class HistogramWidget(QWidget):
    """Bars of the change distribution, each coloured like the heatmap; LoD band in grey."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self.limit = 1.0
        self.lod: float | None = None
        self.setMinimumHeight(90)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(260, 110)

    def set_data(self, counts: np.ndarray | None, edges: np.ndarray | None, limit: float,
                 lod: float | None) -> None:
        self.counts, self.edges, self.limit, self.lod = counts, edges, limit, lod
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        if self.counts is None or self.edges is None or not len(self.counts):
            return
        p = QPainter(self)
        x0, w, h = 28.0, self.width() - 56.0, self.height() - 4.0
        lut = diverging_colormap(256)
        top = float(np.log1p(self.counts).max()) or 1.0
        lo, hi = -self.limit, self.limit
        for c, a, b in zip(self.counts, self.edges[:-1], self.edges[1:], strict=False):
            a, b = max(a, lo), min(b, hi)
            if b <= a:
                continue
            mid = (a + b) / 2
            colour = lut[int(np.clip((mid / self.limit + 1) / 2, 0, 1) * 255)]
            if self.lod and abs(mid) < self.lod:
                colour = INSIGNIFICANT_GREY
            bar_h = np.log1p(c) / top * h  # log scale: the few large changes stay visible
            xa = x0 + (a - lo) / (hi - lo) * w
            xb = x0 + (b - lo) / (hi - lo) * w
            p.fillRect(QRectF(xa, h - bar_h + 2, max(xb - xa - 1, 1), bar_h),
                       QColor(int(colour[0]), int(colour[1]), int(colour[2])))
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawLine(QPointF(x0, h + 2), QPointF(x0 + w, h + 2))
        p.end()


class HeatmapPanel(QWidget):
    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.legend = ColorLegend(self)
        self.hist = HistogramWidget(self)
        self.significant = QCheckBox(self)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for w in (self.title, self.legend, self.hist, self.significant, self.info):
            layout.addWidget(w)
        self.significant.toggled.connect(model.set_significant_only)
        for signal in (model.events.change, model.events.compare, model.events.epoch,
                       model.events.language):
            signal.connect(self.refresh)
        self.retranslate()

    def retranslate(self) -> None:
        self.significant.setText(self.tr("Significant change only"))
        self.significant.setToolTip(self.tr(
            "Grey out change smaller than the level of detection (95 %)"))
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
        if ch is None:
            self.title.setText(self.tr("Change from A (%1) to B (%2)").replace(
                "%1", m.epoch_a or "–").replace("%2", m.epoch or "–"))
            self.legend.set_range(None, None)
            self.hist.set_data(None, None, 1.0, None)
            self.info.setText(self.tr("Choose the Change mode to compute or load the change."))
            self.significant.setEnabled(False)
            return
        self.set_change(ch)

    def set_change(self, ch: ChangeData) -> None:
        limit = ch.symmetric_limit()
        self.title.setText(self.tr("Change from A (%1) to B (%2)").replace("%1", ch.a)
                           .replace("%2", ch.b))
        self.legend.set_range(limit, ch.level_of_detection)
        counts, edges = ch.histogram if ch.histogram is not None \
            else histogram(ch.values, limit)
        self.hist.set_data(counts, edges, limit, ch.level_of_detection)
        self.significant.setEnabled(ch.level_of_detection is not None
                                    or ch.significant is not None)
        finite = np.isfinite(ch.values)
        lines = [self.tr("Red: added or raised; blue: removed or lowered (metres).")]
        if ch.level_of_detection is not None:
            lines.append(self.tr("Level of detection: %1").replace(
                "%1", f"{ch.level_of_detection:.3f} m"))
        else:
            lines.append(self.tr("No level of detection is known for this product."))
        if ch.method:
            lines.append(self.tr("Method: %1").replace("%1", ch.method))
        if ch.computed:
            lines.append(self.tr("Computed by the viewer (not stored in the archive)."))
        if not finite.all():
            lines.append(self.tr("%1 % of the vertices have no value (dark grey).").replace(
                "%1", f"{100 * (1 - finite.mean()):.1f}"))
        self.info.setText("\n".join(lines))
