"""The timeline: epochs as ticks at their dates; click or drag to switch, play to animate.

Playing steps through the epochs with a crossfade (the model's `fade_t`, which the renderer
turns into two actors' opacities); the camera stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from viewer.model.state import CompareMode, ViewerModel

MARGIN = 28


def _ordinal(d: date | None, fallback: int) -> float:
    return float(d.toordinal()) if d else float(fallback)


class TimelineWidget(QWidget):
    """A horizontal time axis; `epoch_positions()` says where each epoch's tick is drawn."""

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.setMinimumHeight(66)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self._dragging = False
        for signal in (model.events.site, model.events.epoch, model.events.compare):
            signal.connect(self.update)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, 66)

    def _range(self) -> tuple[float, float]:
        site = self.model.site
        if not site or not site.epochs:
            today = date.today().toordinal()
            return today - 365.0, float(today)
        xs = [_ordinal(e.date, i) for i, e in enumerate(site.epochs)]
        lo, hi = min(xs), max(xs)
        pad = max((hi - lo) * 0.06, 30.0)
        return lo - pad, hi + pad

    def x_of(self, ordinal: float) -> float:
        lo, hi = self._range()
        return MARGIN + (ordinal - lo) / (hi - lo) * (self.width() - 2 * MARGIN)

    def epoch_positions(self) -> dict[str, float]:
        site = self.model.site
        if not site:
            return {}
        return {e.id: self.x_of(_ordinal(e.date, i)) for i, e in enumerate(site.epochs)}

    def nearest_epoch(self, x: float) -> str | None:
        pos = self.epoch_positions()
        return min(pos, key=lambda e: abs(pos[e] - x)) if pos else None

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        axis_y = self.height() * 0.66
        p.setPen(QPen(pal.mid().color(), 2))
        p.drawLine(QPointF(MARGIN, axis_y), QPointF(self.width() - MARGIN, axis_y))
        lo, hi = self._range()
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.8, 6))
        p.setFont(small)
        first, last = date.fromordinal(int(lo)).year, date.fromordinal(int(hi)).year
        step = max(1, (last - first + 1) // 8)
        for year in range(first + (1 if date(first, 1, 1).toordinal() < lo else 0), last + 1,
                          step):
            x = self.x_of(date(year, 1, 1).toordinal())
            p.setPen(QPen(pal.mid().color(), 1))
            p.drawLine(QPointF(x, axis_y - 4), QPointF(x, axis_y + 4))
            p.setPen(pal.placeholderText().color())
            p.drawText(QRectF(x - 30, axis_y + 5, 60, 14), Qt.AlignmentFlag.AlignCenter,
                       str(year))
        m = self.model
        comparing = m.compare_mode != CompareMode.SINGLE
        p.setFont(self.font())
        metrics = p.fontMetrics()
        row_h = metrics.height()
        rows_end: list[float] = [-1e9, -1e9]  # right edge of the last label in each row
        for eid, x in self.epoch_positions().items():
            current, ref = eid == m.epoch, comparing and eid == m.epoch_a
            colour = QColor("#d9480f") if current else QColor("#1c7ed6") if ref \
                else pal.text().color()
            r = 7.0 if current or ref else 4.5
            p.setPen(QPen(colour, 2))
            p.setBrush(colour if current or ref else pal.base().color())
            p.drawEllipse(QPointF(x, axis_y), r, r)
            tag = ("B " if current and comparing else "") + ("A " if ref else "")
            label = tag + eid
            w = metrics.horizontalAdvance(label) + 6
            # labels that would overlap their neighbour go one row up
            row = 0 if x - w / 2 > rows_end[0] else 1
            rows_end[row] = x + w / 2
            p.setPen(colour)
            bottom = axis_y - 8 - row * row_h
            p.drawText(QRectF(x - w / 2, bottom - row_h, w, row_h),
                       Qt.AlignmentFlag.AlignCenter, label)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        eid = self.nearest_epoch(event.position().x())
        if eid is None:
            return
        if event.button() == Qt.MouseButton.RightButton or \
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.model.set_epoch_a(eid)  # the reference epoch of the comparison
            return
        self._dragging = True
        self.model.set_epoch(eid)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._dragging:
            eid = self.nearest_epoch(event.position().x())
            if eid:
                self.model.set_epoch(eid)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._dragging = False


class Player:
    """Steps through the epochs with a crossfade while playing."""

    def __init__(self, model: ViewerModel, ready: Callable[[str], bool] | None = None,
                 hold_ms: int = 1800, fade_ms: int = 900):
        self.model = model
        self.ready = ready or (lambda epoch: True)
        self.hold_ms, self.fade_ms = hold_ms, fade_ms
        self.timer = QTimer()
        self.timer.timeout.connect(self.step)
        self.anim = QVariantAnimation()
        self.anim.setStartValue(0.0)
        self.anim.setEndValue(1.0)
        self.anim.valueChanged.connect(lambda v: model.set_fade(float(v)))
        model.events.epoch.connect(self._on_epoch)

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play(self, on: bool = True) -> None:
        if on and self.model.site and len(self.model.site.epochs) > 1:
            self.timer.start(self.hold_ms + self.fade_ms)
            self.step()
        else:
            self.timer.stop()

    def step(self) -> None:
        site, m = self.model.site, self.model
        if not site or not site.epochs:
            return
        ids = site.epoch_ids
        nxt = ids[(ids.index(m.epoch) + 1) % len(ids)] if m.epoch in ids else ids[0]
        if self.ready(nxt):  # wait for the mesh rather than fading into nothing
            m.set_epoch(nxt, fade=m.compare_mode == CompareMode.SINGLE)

    def _on_epoch(self) -> None:
        if self.model.fade_from:
            self.anim.stop()
            self.anim.setDuration(self.fade_ms)
            self.anim.start()


class TimelineBar(QWidget):
    """Play button, timeline and the current date."""

    play_toggled = Signal(bool)

    def __init__(self, model: ViewerModel, player: Player, parent: QWidget | None = None):
        super().__init__(parent)
        self.model, self.player = model, player
        self.play_button = QToolButton(self)
        self.play_button.setCheckable(True)
        self.play_button.setMinimumWidth(72)
        self.timeline = TimelineWidget(model, self)
        self.label = QLabel(self)
        self.label.setMinimumWidth(150)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.timeline, 1)
        layout.addWidget(self.label)
        self.play_button.toggled.connect(self._toggle)
        for signal in (model.events.site, model.events.epoch, model.events.compare,
                       model.events.language):
            signal.connect(self._update_label)
        self.retranslate()

    def _toggle(self, on: bool) -> None:
        self.player.play(on)
        if on and not self.player.playing:
            self.play_button.setChecked(False)
        self.retranslate()
        self.play_toggled.emit(on)

    def set_playing(self, on: bool) -> None:
        self.play_button.setChecked(on)

    def retranslate(self) -> None:
        self.play_button.setText(self.tr("Pause") if self.play_button.isChecked()
                                 else self.tr("Play"))
        self.play_button.setToolTip(self.tr("Play through the epochs (Space)"))
        self.timeline.setToolTip(self.tr(
            "Click or drag to show an epoch; Shift+click or right-click picks the reference "
            "epoch A for comparisons"))
        self._update_label()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _update_label(self) -> None:
        m = self.model
        if not m.site or not m.epoch:
            self.label.setText("")
        elif m.compare_mode == CompareMode.SINGLE:
            self.label.setText(self.tr("Epoch %1").replace("%1", m.epoch))
        else:
            self.label.setText(f"A {m.epoch_a}  ·  B {m.epoch}")
