"""The staff's way out: hold a screen corner for a few seconds, then type the PIN on an
in-kiosk keypad (no dialog). The PIN is checked against the salted hash in kiosk.toml."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from viewer.kiosk.config import verify_pin
from viewer.kiosk.style import Metrics

MAX_TRIES = 5                # then the keypad closes for LOCKOUT_S
LOCKOUT_S = 60


class CornerHold:
    """Fires `on_hold` after a press stays inside the corner for `seconds`."""

    def __init__(self, corner: str, seconds: float, size: int, on_hold, parent):
        self.corner, self.size, self.on_hold = corner, size, on_hold
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.setInterval(round(seconds * 1000))
        self.timer.timeout.connect(on_hold)

    def rect(self, window: QRect) -> QRect:
        s = self.size
        x = window.left() if "left" in self.corner else window.right() - s
        y = window.top() if "top" in self.corner else window.bottom() - s
        return QRect(x, y, s, s)

    def pressed(self, pos: QPoint, window: QRect) -> None:
        if self.rect(window).contains(pos):
            self.timer.start()
        else:
            self.timer.stop()

    def moved(self, pos: QPoint, window: QRect) -> None:
        if self.timer.isActive() and not self.rect(window).contains(pos):
            self.timer.stop()

    def released(self) -> None:
        self.timer.stop()


class PinPad(QWidget):
    """Digits, Delete, Cancel, OK; `accepted` when the PIN matches."""

    accepted = Signal()

    def __init__(self, pin_hash: str | None, m: Metrics, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("pin-pad")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.pin_hash = pin_hash
        self.entered = ""
        self.tries = 0
        self.title = QLabel(self)
        self.title.setObjectName("title")
        self.shown = QLabel(self)
        self.shown.setObjectName("title")
        self.shown.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        grid = QGridLayout()
        grid.setSpacing(m.px(12))
        self.keys: dict[str, QPushButton] = {}
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok"]
        for i, key in enumerate(labels):
            b = QPushButton({"del": "⌫", "ok": "OK"}.get(key, key), self)
            b.setObjectName(f"pin-{key}")
            b.clicked.connect(lambda _=False, k=key: self.press(k))
            grid.addWidget(b, i // 3, i % 3)
            self.keys[key] = b
        self.cancel = QPushButton(self)
        self.cancel.setObjectName("pin-cancel")
        self.cancel.clicked.connect(self.close_pad)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.gap, m.gap, m.gap, m.gap)
        layout.setSpacing(m.px(12))
        layout.addWidget(self.title)
        layout.addWidget(self.shown)
        layout.addLayout(grid)
        layout.addWidget(self.note)
        layout.addWidget(self.cancel)
        self.locked_until = QTimer(self)
        self.locked_until.setSingleShot(True)
        self.hide()

    def open_pad(self) -> None:
        self.entered = ""
        self.title.setText(self.tr("Staff: enter the PIN"))
        self.cancel.setText(self.tr("Cancel"))
        if self.locked_until.isActive():
            self.note.setText(self.tr("Too many wrong PINs. Try again in a minute."))
        elif not self.pin_hash:
            self.note.setText(self.tr("No PIN is configured: staff exit is disabled."))
        else:
            self.note.setText("")
        self._show_entered()
        self.show()
        self.raise_()

    def close_pad(self) -> None:
        self.entered = ""
        self.hide()

    def press(self, key: str) -> None:
        if key == "del":
            self.entered = self.entered[:-1]
        elif key == "ok":
            self._check()
            return
        elif len(self.entered) < 12:
            self.entered += key
        self._show_entered()

    def _show_entered(self) -> None:
        self.shown.setText("•" * len(self.entered) or " ")

    def _check(self) -> None:
        if self.locked_until.isActive() or not self.pin_hash:
            return
        if verify_pin(self.entered, self.pin_hash):
            self.tries = 0
            self.hide()
            self.accepted.emit()
            return
        self.tries += 1
        self.entered = ""
        self._show_entered()
        if self.tries >= MAX_TRIES:
            self.tries = 0
            self.locked_until.start(LOCKOUT_S * 1000)
            self.note.setText(self.tr("Too many wrong PINs. Try again in a minute."))
        else:
            self.note.setText(self.tr("Wrong PIN."))
