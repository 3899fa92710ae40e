"""Authoring stories (guided tours) in the desktop viewer: a dock next to the details panel.

The archivist picks or starts a story, adds the current view as a stop, reorders stops,
edits their German and English texts, previews a stop in the view, and saves the story as a
new archive version after a confirmation. The story model (viewer.model.stories) validates;
its errors, naming stop and field, appear in the panel.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from viewer.model.state import ViewerModel
from viewer.model.stories import (
    Bilingual,
    StoryError,
    apply_stop,
    parse_story,
    read_stories,
    save_story,
    stop_from_view,
)
from viewer.qt.controller import ViewerController, fill

NEW = "__new__"


class StoryPanel(QWidget):
    """Edits one story at a time as a plain document (dict), validated when saved."""

    def __init__(self, model: ViewerModel, controller: ViewerController,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.model, self.controller = model, controller
        self.doc: dict[str, Any] | None = None
        self.dock: QDockWidget | None = None
        self.dirty = False
        self.picker = QComboBox(self)
        self.story_id = QLineEdit(self)
        self.title_de, self.title_en = QLineEdit(self), QLineEdit(self)
        self.stops = QListWidget(self)
        self.stops.setDragDropMode(QListWidget.DragDropMode.InternalMove)
        self.add = QPushButton(self)
        self.remove = QPushButton(self)
        self.up, self.down = QPushButton("↑", self), QPushButton("↓", self)
        self.preview = QPushButton(self)
        self.stop_title_de, self.stop_title_en = QLineEdit(self), QLineEdit(self)
        self.stop_text_de, self.stop_text_en = QPlainTextEdit(self), QPlainTextEdit(self)
        for edit in (self.stop_text_de, self.stop_text_en):
            edit.setMaximumHeight(80)
        self.save = QPushButton(self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form = QFormLayout()
        self.form_labels = [QLabel(self) for _ in range(8)]
        for label, w in zip(self.form_labels, (self.picker, self.story_id, self.title_de,
                                                self.title_en), strict=False):
            self.form.addRow(label, w)
        buttons = QHBoxLayout()
        for b in (self.add, self.remove, self.up, self.down, self.preview):
            buttons.addWidget(b)
        self.stop_form = QFormLayout()
        for label, w in zip(self.form_labels[4:], (self.stop_title_de, self.stop_title_en,
                                                    self.stop_text_de, self.stop_text_en),
                            strict=True):
            self.stop_form.addRow(label, w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.form)
        layout.addWidget(self.stops, 1)
        layout.addLayout(buttons)
        layout.addLayout(self.stop_form)
        layout.addWidget(self.save)
        layout.addWidget(self.status)

        self.picker.activated.connect(lambda _: self._pick(self.picker.currentData()))
        self.add.clicked.connect(self.add_current_view)
        self.remove.clicked.connect(self._remove)
        self.up.clicked.connect(lambda: self.move(-1))
        self.down.clicked.connect(lambda: self.move(+1))
        self.preview.clicked.connect(self.preview_stop)
        self.save.clicked.connect(lambda: self.save_to_archive(confirm=True))
        self.stops.currentRowChanged.connect(self._show_stop)
        self.stops.model().rowsMoved.connect(self._reordered)
        for edit in (self.story_id, self.title_de, self.title_en, self.stop_title_de,
                     self.stop_title_en):
            edit.textEdited.connect(self._edited)
        for edit in (self.stop_text_de, self.stop_text_en):
            edit.textChanged.connect(self._edited)
        model.events.site.connect(self.reload)
        self._loading = False
        self.retranslate()
        self.reload()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        labels = (self.tr("Story"), self.tr("Id"), self.tr("Title (DE)"), self.tr("Title (EN)"),
                  self.tr("Stop title (DE)"), self.tr("Stop title (EN)"),
                  self.tr("Text (DE)"), self.tr("Text (EN)"))
        for label, text in zip(self.form_labels, labels, strict=True):
            label.setText(text)
        self.add.setText(self.tr("Add current view"))
        self.add.setToolTip(self.tr("Add the current view, epochs and compare mode as a stop"))
        self.remove.setText(self.tr("Remove"))
        self.preview.setText(self.tr("Preview"))
        self.save.setText(self.tr("Save story in the archive…"))
        self.story_id.setPlaceholderText(self.tr("e.g. what-changed"))
        if self.picker.count():
            self.picker.setItemText(self.picker.count() - 1, self.tr("New story"))
        if self.dock is not None:
            self.dock.setWindowTitle(self.tr("Stories"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        """The open site's stories, from the version the viewer shows."""
        site = self.model.site
        self.picker.clear()
        self.stories = {}
        if site is not None and site.id in self.controller.versions:
            stories, errors = read_stories(self.controller.versions[site.id], site.epoch_ids)
            self.stories = {s.id: s.to_json_dict() for s in stories}
            self.status.setText("\n".join(str(e) for e in errors))
        for sid, doc in self.stories.items():
            self.picker.addItem(Bilingual(**doc["title"]).get(self.model.language), sid)
        self.picker.addItem(self.tr("New story"), NEW)
        self.setEnabled(site is not None)
        self._pick(next(iter(self.stories), NEW))

    def _pick(self, story_id: str) -> None:
        site = self.model.site
        if story_id == NEW or story_id not in self.stories:
            self.doc = {"format": "stadtzeit-story/1", "id": "", "site": site.id if site else "",
                        "title": {"de": "", "en": ""}, "stops": []}
        else:
            import copy
            self.doc = copy.deepcopy(self.stories[story_id])
        self.picker.setCurrentIndex(max(self.picker.findData(story_id), 0))
        self._loading = True
        self.story_id.setText(self.doc["id"])
        self.story_id.setReadOnly(story_id != NEW)
        self.title_de.setText(self.doc["title"].get("de", ""))
        self.title_en.setText(self.doc["title"].get("en", ""))
        self._loading = False
        self.dirty = False
        self._fill_stops(0)

    def _fill_stops(self, row: int) -> None:
        self._loading = True
        self.stops.clear()
        for i, stop in enumerate(self.doc["stops"] if self.doc else []):
            title = Bilingual.model_construct(**stop["title"]).get(self.model.language)
            mode = stop.get("compare", "single")
            pair = f"{stop['epoch_a']} → {stop['epoch']}" if stop.get("epoch_a") else stop["epoch"]
            self.stops.addItem(f"{i + 1}. {title}  ({pair}, {mode})")
        self._loading = False
        self.stops.setCurrentRow(min(row, self.stops.count() - 1))
        self._show_stop(self.stops.currentRow())

    def _show_stop(self, row: int) -> None:
        if self._loading:
            return
        stop = self._stop(row)
        self._loading = True
        for edit, key, lang in ((self.stop_title_de, "title", "de"),
                                (self.stop_title_en, "title", "en")):
            edit.setText(stop[key].get(lang, "") if stop else "")
        for edit, lang in ((self.stop_text_de, "de"), (self.stop_text_en, "en")):
            edit.setPlainText(stop["text"].get(lang, "") if stop else "")
        self._loading = False
        for w in (self.stop_title_de, self.stop_title_en, self.stop_text_de, self.stop_text_en,
                  self.remove, self.up, self.down, self.preview):
            w.setEnabled(stop is not None)

    def _stop(self, row: int) -> dict[str, Any] | None:
        stops = self.doc["stops"] if self.doc else []
        return stops[row] if 0 <= row < len(stops) else None

    # ------------------------------------------------------------------ editing
    def _edited(self, *_: object) -> None:
        if self._loading or self.doc is None:
            return
        self.dirty = True
        self.doc["id"] = self.story_id.text().strip()
        self.doc["title"] = {"de": self.title_de.text(), "en": self.title_en.text()}
        stop = self._stop(self.stops.currentRow())
        if stop is not None:
            stop["title"] = {"de": self.stop_title_de.text(), "en": self.stop_title_en.text()}
            stop["text"] = {"de": self.stop_text_de.toPlainText(),
                            "en": self.stop_text_en.toPlainText()}

    def add_current_view(self) -> None:
        if self.doc is None:
            return
        n = len(self.doc["stops"]) + 1
        used = {s["id"] for s in self.doc["stops"]}
        sid = next(f"stop-{k}" for k in range(n, n + 1000) if f"stop-{k}" not in used)
        try:
            stop = stop_from_view(self.model, sid)
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self.doc["stops"].insert(self.stops.currentRow() + 1, stop.model_dump(
            mode="json", exclude_none=True))
        self.dirty = True
        self._fill_stops(self.stops.currentRow() + 1)

    def _remove(self) -> None:
        row = self.stops.currentRow()
        if self._stop(row) is not None:
            del self.doc["stops"][row]
            self.dirty = True
            self._fill_stops(row)

    def move(self, step: int) -> None:
        row = self.stops.currentRow()
        target = row + step
        stops = self.doc["stops"] if self.doc else []
        if 0 <= row < len(stops) and 0 <= target < len(stops):
            stops.insert(target, stops.pop(row))
            self.dirty = True
            self._fill_stops(target)

    def _reordered(self, _parent, start: int, _end: int, _dest, row: int) -> None:
        """Drag and drop in the list: the same move on the document."""
        stops = self.doc["stops"]
        target = row - 1 if row > start else row
        stops.insert(target, stops.pop(start))
        self.dirty = True
        self._fill_stops(target)

    def preview_stop(self) -> None:
        stop = self._stop(self.stops.currentRow())
        if stop is None:
            return
        try:
            parsed = parse_story({**self.doc, "id": self.doc["id"] or "preview",
                                  "title": {"de": "-", "en": "-"}, "stops": [stop]})
        except StoryError as exc:
            self.status.setText(str(exc))
            return
        apply_stop(self.model, parsed.stops[0])

    # ------------------------------------------------------------------ saving (the write)
    def save_to_archive(self, confirm: bool = True) -> bool:
        c, m = self.controller, self.model
        if self.doc is None or m.site is None or c.store is None:
            return False
        site = m.site
        version = c.versions.get(site.id)
        try:
            parse_story(self.doc, f"{site.id}: stories/{self.doc['id'] or '?'}.json",
                        site.epoch_ids, version.files if version is not None else None)
        except StoryError as exc:
            self.status.setText(str(exc))
            return False
        if confirm and QMessageBox.question(
                self, self.tr("Save story"),
                fill(self.tr("Save the story “%1” with %2 stops as a new version of %3 in the "
                             "archive?"), self.doc["id"], len(self.doc["stops"]), site.id)
        ) != QMessageBox.StandardButton.Yes:
            return False
        doc, store, site_id = dict(self.doc), c.store, site.id

        def job(progress, cancelled):
            number = save_story(store.archive, doc, message=f"viewer: save story '{doc['id']}'")
            return number, store.site(site_id)

        def done(result: Any) -> None:
            number, (info, new_version) = result
            old = c.versions.get(site_id)
            c.versions[site_id] = new_version
            # loaded meshes are the same files: carry them over to the new version's keys
            if old is not None:
                prefix = f"{site_id}@{old.number}:"
                for key, mesh in c.cache.as_dict().items():
                    if key.startswith(prefix):
                        c.cache.put(f"{site_id}@{new_version.number}:" + key[len(prefix):],
                                    mesh)
            m.update_site(info)
            self.reload()
            self._pick(doc["id"])
            self.status.setText(fill(self.tr("Saved story “%1” as archive version %2."),
                                     doc["id"], number))
            m.message("info", self.status.text())

        c.loader.submit(f"save-story:{site_id}", job, on_done=done, on_failed=self._failed)
        return True

    def _failed(self, message: str) -> None:
        self.status.setText(message)
        self.model.message("error", message)


def install(window: QMainWindow, beside: QDockWidget) -> QDockWidget:
    """Add the story dock to the desktop main window, tabbed with `beside` and closed until
    View → Stories opens it (an archivist's tool: closed, it takes no room from the view)."""
    panel = StoryPanel(window.model, window.controller, window)
    dock = QDockWidget(window)
    dock.setObjectName("stories-dock")
    # in a scroll area: the editor's height must never set the window's minimum size
    scroll = QScrollArea(dock)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(panel)
    scroll.setMinimumSize(120, 80)
    dock.setWidget(scroll)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(beside, dock)
    dock.hide()
    beside.raise_()
    dock.toggleViewAction().setShortcut("Ctrl+Shift+T")   # in View (main_window)
    panel.dock = dock
    panel.retranslate()
    window.stories = panel
    return dock
