"""Compare controls: a segmented control for the modes, the A/B epochs, the overlay slider,
and the swipe divider that sits over the 3D view."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QWidget,
)

from viewer.model.state import CompareMode, ViewerModel

MODES = [CompareMode.SINGLE, CompareMode.SIDE_BY_SIDE, CompareMode.OVERLAY, CompareMode.SWIPE,
         CompareMode.HEATMAP]


class CompareBar(QWidget):
    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        # no QButtonGroup: Qt's Tab reaches only one button of a group (and the arrows that
        # move within it are the epoch keys); sync() keeps the model's mode checked
        self.buttons: dict[CompareMode, QToolButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for mode in MODES:
            b = QToolButton(self)
            b.setCheckable(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setObjectName(f"compare-{mode.value}")
            b.clicked.connect(lambda _=False, md=mode: (model.set_compare_mode(md), self.sync()))
            self.buttons[mode] = b
            layout.addWidget(b)
        layout.addSpacing(12)
        self.a_label = QLabel(self)
        self.a_combo = QComboBox(self)
        self.b_label = QLabel(self)
        self.b_combo = QComboBox(self)
        for combo in (self.a_combo, self.b_combo):  # whole dates, never "2019-06·"
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(10)
        for w in (self.a_label, self.a_combo, self.b_label, self.b_combo):
            layout.addWidget(w)
        self.hint = QLabel(self)   # why comparing is off (a site with one epoch)
        self.hint.setObjectName("compare-hint")
        layout.addWidget(self.hint)
        layout.addSpacing(12)
        self.opacity_label = QLabel(self)
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setFixedWidth(140)
        layout.addWidget(self.opacity_label)
        layout.addWidget(self.opacity)
        layout.addStretch(1)
        self.a_combo.activated.connect(lambda i: model.set_epoch_a(self.a_combo.itemText(i)))
        self.b_combo.activated.connect(lambda i: model.set_epoch(self.b_combo.itemText(i)))
        self.opacity.valueChanged.connect(lambda v: model.set_overlay_opacity(v / 100))
        for signal in (model.events.site, model.events.epoch, model.events.compare,
                       model.events.sites):
            signal.connect(self.sync)
        self.retranslate()
        self.sync()  # no site yet: nothing to compare, no A/B boxes

    def retranslate(self) -> None:
        names = {CompareMode.SINGLE: (self.tr("Single"), self.tr("One epoch (1)")),
                 CompareMode.SIDE_BY_SIDE: (self.tr("Side by side"),
                                            self.tr("Epochs A and B side by side with linked "
                                                    "cameras (2)")),
                 CompareMode.OVERLAY: (self.tr("Overlay"),
                                       self.tr("B over A with adjustable opacity (3)")),
                 CompareMode.SWIPE: (self.tr("Swipe"),
                                     self.tr("A left, B right of a draggable divider (4)")),
                 CompareMode.HEATMAP: (self.tr("Change"),
                                       self.tr("Change from A to B as a colour map (5)"))}
        for mode, (text, tip) in names.items():
            self.buttons[mode].setText(text)
            self.buttons[mode].setToolTip(tip)
        self.a_label.setText(self.tr("A:"))
        self.b_label.setText(self.tr(" B:"))
        self.a_combo.setToolTip(self.tr("Reference epoch A"))
        self.b_combo.setToolTip(self.tr("Compared epoch B"))
        self.opacity_label.setText(self.tr("Opacity of B"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def sync(self) -> None:
        m = self.model
        for mode, button in self.buttons.items():
            button.setChecked(mode == m.compare_mode)
        ids = m.site.epoch_ids if m.site else []
        # before a site is open there is nothing to compare; with one epoch, nothing either
        can_compare = len(ids) > 1
        for mode, button in self.buttons.items():
            button.setEnabled(mode == CompareMode.SINGLE or can_compare)
        self.hint.setText(self.tr("This site has one epoch: there is nothing to compare yet.")
                          if len(ids) == 1 else "")
        self.hint.setVisible(len(ids) == 1)
        comparing = m.compare_mode != CompareMode.SINGLE and can_compare
        for combo, value in ((self.a_combo, m.epoch_a), (self.b_combo, m.epoch)):
            combo.blockSignals(True)
            if [combo.itemText(i) for i in range(combo.count())] != ids:
                combo.clear()
                combo.addItems(ids)
            combo.setCurrentIndex(ids.index(value) if value in ids else -1)
            combo.blockSignals(False)
        for w in (self.a_label, self.a_combo, self.b_label, self.b_combo):
            w.setVisible(comparing)
        overlay = m.compare_mode == CompareMode.OVERLAY and can_compare
        self.opacity_label.setVisible(overlay)
        self.opacity.setVisible(overlay)
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(m.overlay_opacity * 100))
        self.opacity.blockSignals(False)


class SwipeDivider(QWidget):
    """A vertical line with a handle over the 3D view; dragging moves the swipe position."""

    HANDLE = 26

    def __init__(self, model: ViewerModel, parent: QWidget):
        super().__init__(parent)
        self.model = model
        self.setCursor(Qt.CursorShape.SplitHCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self._drag_offset: float | None = None
        model.events.compare.connect(self.place)
        parent.installEventFilter(self)
        self.place()

    def eventFilter(self, obj, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.parent() and event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def place(self) -> None:
        parent = self.parentWidget()
        show = self.model.compare_mode == CompareMode.SWIPE
        self.setVisible(show)
        if show:
            x = round(self.model.swipe_position * parent.width())
            self.setGeometry(QRect(x - self.HANDLE // 2, 0, self.HANDLE, parent.height()))
            self.raise_()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        cx = self.width() / 2
        p.setPen(QPen(QColor(255, 255, 255, 230), 2))
        p.drawLine(int(cx), 0, int(cx), self.height())
        cy = self.height() / 2
        p.setBrush(QColor(255, 255, 255, 235))
        p.setPen(QPen(QColor(40, 40, 40), 1))
        p.drawEllipse(int(cx - 11), int(cy - 11), 22, 22)
        p.setPen(QPen(QColor(40, 40, 40), 2))
        p.drawText(QRect(int(cx - 11), int(cy - 11), 22, 22), Qt.AlignmentFlag.AlignCenter, "⇔")
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._drag_offset = event.position().x() - self.width() / 2

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag_offset is None:
            return
        parent = self.parentWidget()
        x = self.mapToParent(event.position().toPoint()).x() - self._drag_offset
        self.model.set_swipe_position(x / max(parent.width(), 1))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._drag_offset = None
