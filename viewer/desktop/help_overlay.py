"""A translucent panel over the view listing every keyboard shortcut and gesture."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class HelpOverlay(QWidget):
    """Covers its parent; any click or Esc/F1 closes it."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("help-overlay")
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setStyleSheet("color: white;")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label, 0, Qt.AlignmentFlag.AlignCenter)
        self.entries: list[tuple[str, str]] = []
        parent.installEventFilter(self)
        self.hide()

    def set_entries(self, title: str, entries: list[tuple[str, str]], footer: str) -> None:
        """(keys, what they do) pairs, already translated."""
        self.entries = entries
        rows = "".join(
            f"<tr><td align='right' style='padding-right:14px'><b>{escape(k)}</b></td>"
            f"<td>{escape(v)}</td></tr>" for k, v in entries)
        self.label.setText(f"<h2>{escape(title)}</h2><table cellspacing='3'>{rows}</table>"
                           f"<p style='color:#bbb'>{escape(footer)}</p>")

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())
        if self.isVisible():
            self.setGeometry(self.parentWidget().rect())
            self.raise_()

    def eventFilter(self, obj, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.parent() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(10, 12, 16, 205))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.hide()
