"""Saved viewpoints of a site: go to one, or save the current view (a new archive version)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
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

    def default_name(self) -> str:
        """A name that says what the view shows: "2021-09-01, Change 2019-06-15 → 2021-09-01"."""
        m = self.model
        mode = m.compare_mode.value
        shown = m.epoch or ""
        if mode != "single" and m.epoch_a:
            shown = f"{m.epoch_a} → {m.epoch}"
        return self.tr("View %1 (%2)").replace("%1", shown).replace("%2", mode)

    def _save(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.ask_and_save()
            return
        self.save_requested.emit(name)
        self.name.clear()

    def ask_and_save(self) -> QInputDialog | None:
        """Ask for a name (and so for confirmation) before writing a new archive version."""
        if self.model.site is None:
            return None
        dialog = QInputDialog(self)
        dialog.setObjectName("save-view-dialog")
        dialog.setWindowTitle(self.tr("Save view"))
        dialog.setLabelText(self.tr("Saving writes a new version of the site to the archive.\n"
                                    "Name of the view:"))
        dialog.setTextValue(self.default_name())
        dialog.setOkButtonText(self.tr("Save in archive"))

        def accepted() -> None:
            name = dialog.textValue().strip()
            if name:
                self.save_requested.emit(name)
            self.name.clear()

        dialog.accepted.connect(accepted)
        dialog.open()  # window-modal, not a nested event loop
        self.dialog = dialog
        return dialog
