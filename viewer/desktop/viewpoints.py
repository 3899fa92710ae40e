"""Saved viewpoints of a site: go to one, or save the current view (a new archive version)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from viewer.model.state import ViewerModel


class ViewpointPanel(QWidget):
    save_requested = Signal(str)

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.list = QListWidget(self)
        self.name = QLineEdit(self)
        self.save = QPushButton(self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.list.itemActivated.connect(self._go)
        self.list.itemClicked.connect(self._go)
        self.save.clicked.connect(self._save)
        self.name.returnPressed.connect(self._save)
        model.events.viewpoints.connect(self.refresh)
        model.events.site.connect(self.refresh)
        self.retranslate()

    def retranslate(self) -> None:
        self.name.setPlaceholderText(self.tr("Name of the view"))
        self.save.setText(self.tr("Save view"))
        self.save.setToolTip(self.tr("Save the current view in the archive (Ctrl+S)"))
        self.note.setText(self.tr("Saving writes a new version of the site to the archive."))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def refresh(self) -> None:
        self.list.clear()
        for name in self.model.viewpoints:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
        self.save.setEnabled(self.model.site is not None)

    def _go(self, item: QListWidgetItem) -> None:
        cam = self.model.viewpoints.get(item.data(Qt.ItemDataRole.UserRole))
        if cam is not None:
            self.model.set_camera(cam)

    def _save(self) -> None:
        name = self.name.text().strip() or self.tr("View %1").replace(
            "%1", str(len(self.model.viewpoints) + 1))
        self.save_requested.emit(name)
        self.name.clear()
