"""File → Export…: the exports of `stadtzeit export`, from the view the user is looking at.

The dialog starts from the model's current camera, epoch and compare pair, shows a small
preview, and runs the export in a worker thread with a progress bar and Cancel (the exporter's
progress callback raises `Cancelled`; files are written under temporary names, so a cancelled
export leaves nothing behind). Everything it makes carries the site's licence and credit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from assets_manifest.errors import StadtzeitError
from viewer.export.source import ExportError, ExportSource
from viewer.model.scene import Cancelled
from viewer.model.state import ViewerModel

KINDS = ["still", "before-after", "turntable", "epochs", "model", "print", "lesson"]
SIZES = [(1280, 720), (1920, 1080), (3840, 2160), (7680, 4320)]
MODEL_FORMATS = [".glb", ".obj", ".ply", ".laz"]
PRINT_SCALES = [500, 1000, 2000, 2500, 5000]
PREVIEW = (320, 180)


def run_export(source: ExportSource, kind: str, out: Path, options: dict[str, Any],
               progress) -> str:
    """One export, as the dialog describes it; a sentence saying what was written."""
    from viewer.export import model as models
    from viewer.export import print3d
    from viewer.export.before_after import export_before_after
    from viewer.export.lesson import LessonOptions, export_lesson
    from viewer.export.still import export_still
    from viewer.export.video import export_transition, export_turntable

    size, cam, epoch = options["size"], options.get("camera"), options.get("epoch")
    if kind == "still":
        r = export_still(source, out, size, epoch=epoch, camera=cam,
                         transparent=options.get("transparent", False),
                         burn_caption=options.get("caption", False), progress=progress)
        return str(r.path)
    if kind == "before-after":
        r = export_before_after(source, out, options.get("a"), options.get("b"), size,
                                camera=cam, progress=progress)
        return ", ".join(str(p) for p in r.files.values())
    if kind == "turntable":
        return str(export_turntable(source, out, epoch, size, camera=cam,
                                    progress=progress).path)
    if kind == "epochs":
        return str(export_transition(source, out, None, size, camera=cam,
                                     progress=progress).path)
    if kind == "model":
        fn = {".glb": models.export_glb, ".obj": models.export_obj, ".ply": models.export_ply,
              ".laz": models.export_laz}.get(out.suffix.lower())
        if fn is None:
            raise ExportError(f"{out.name}: a 3D model is saved as "
                              f"{', '.join(MODEL_FORMATS)} (for printing choose 3D print)")
        return ", ".join(str(p) for p in fn(source, out, epoch, progress=progress).files)
    if kind == "print":
        r = print3d.export_print(source, out, epoch, options.get("scale", 1000),
                                 progress=progress)
        return f"{r.path}: {r.describe()}"
    lesson = export_lesson(source, out, LessonOptions(still_size=size, video_size=size),
                           progress)
    return f"{lesson.folder}, {lesson.zip}"


class _Worker(QObject):
    progress = Signal(float, str)
    finished = Signal(str)
    failed = Signal(str)

    def __init__(self, archive: Path, site_ref: str, language: str, kind: str, out: Path,
                 options: dict[str, Any]):
        super().__init__()
        self.args = (archive, site_ref, language, kind, out, options)
        self.cancelled = False

    def run(self) -> None:
        archive, site_ref, language, kind, out, options = self.args

        def progress(fraction: float, what: str) -> None:
            if self.cancelled:
                raise Cancelled
            self.progress.emit(fraction, what)

        try:
            source = ExportSource(archive, site_ref, language)  # its own read-only reader
            self.finished.emit(run_export(source, kind, out, options, progress))
        except Cancelled:
            self.failed.emit("")
        except StadtzeitError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, not swallowed
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class ExportDialog(QDialog):
    """Choose what to export; preview; export in the background with progress and Cancel."""

    done_export = Signal(str)       # a sentence saying what was written

    def __init__(self, model: ViewerModel, archive: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.archive = Path(archive)
        site = model.site
        if site is None:
            raise ValueError("open a site before exporting")
        self.site_ref = f"{site.id}@v{site.version}" if site.version else site.id
        self.setWindowTitle(self.tr("Export"))
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self.result_text = ""

        self.kind = QComboBox()
        for key, text in zip(KINDS, (
                self.tr("Still image (PNG)"), self.tr("Before / after (folder of PNGs)"),
                self.tr("Video: turntable"), self.tr("Video: all epochs"),
                self.tr("3D model (GLB, OBJ, PLY, LAZ)"), self.tr("3D print (STL, 3MF)"),
                self.tr("Lesson pack (folder and ZIP)")), strict=True):
            self.kind.addItem(text, key)
        self.size = QComboBox()
        for w, h in SIZES:
            self.size.addItem(f"{w} × {h}", (w, h))
        self.size.setCurrentIndex(1)
        self.transparent = QCheckBox(self.tr("Transparent background"))
        self.caption = QCheckBox(self.tr("Caption with site, date and credit"))
        self.caption.setChecked(True)
        self.scale = QComboBox()
        for n in PRINT_SCALES:
            self.scale.addItem(f"1:{n}", n)
        self.scale.setCurrentIndex(3)
        self.out = QLineEdit()
        browse = QPushButton(self.tr("Choose…"))
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.preview = QLabel()
        self.preview.setFixedSize(*PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.licence = QLabel()
        self.licence.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(self.tr("Export"),
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

        form = QFormLayout()
        form.addRow(self.tr("What"), self.kind)
        form.addRow(self.tr("Size"), self.size)
        form.addRow("", self.transparent)
        form.addRow("", self.caption)
        form.addRow(self.tr("Print scale"), self.scale)
        form.addRow(self.tr("Save as"), out_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(form)
        layout.addWidget(self.licence)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        lic = site.licence
        self.licence.setText(self.tr("Every file carries the licence %1 and the credit “%2”.")
                             .replace("%1", lic).replace("%2", site.attribution))
        self._kind_changed()

    # ------------------------------------------------------------------ options
    def options(self) -> dict[str, Any]:
        m = self.model
        return {"size": self.size.currentData(), "camera": m.camera, "epoch": m.epoch,
                "a": m.epoch_a if m.epoch_a != m.epoch else None,
                "b": m.epoch if m.epoch_a != m.epoch else None,
                "transparent": self.transparent.isChecked(),
                "caption": self.caption.isChecked(), "scale": self.scale.currentData()}

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.transparent.setEnabled(kind == "still")
        self.caption.setEnabled(kind == "still")
        self.size.setEnabled(kind not in ("model", "print"))
        self.scale.setEnabled(kind == "print")
        site = self.model.site
        stem = f"{site.id}-{self.model.epoch or ''}".rstrip("-")
        name = {"still": f"{stem}.png", "before-after": f"{site.id}-before-after",
                "turntable": f"{stem}-turntable.mp4", "epochs": f"{site.id}-epochs.mp4",
                "model": f"{stem}.glb", "print": f"{stem}.stl",
                "lesson": f"lesson-{site.id}"}[kind]
        folder = Path(self.out.text()).parent if self.out.text() else Path.home()
        self.out.setText(str(folder / name))

    def _browse(self) -> None:
        kind = self.kind.currentData()
        if kind in ("before-after", "lesson"):
            path = QFileDialog.getExistingDirectory(self, self.tr("Export into folder"))
            if path:
                self.out.setText(str(Path(path) / Path(self.out.text()).name))
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export as"), self.out.text())
        if path:
            self.out.setText(path)

    # ------------------------------------------------------------------ preview
    def render_preview(self, meshes_source: ExportSource | None = None) -> QImage:
        """A small render of the current view (same camera and epoch as the export)."""
        from viewer.render.offscreen import OffscreenRenderer

        source = meshes_source or ExportSource(self.archive, self.site_ref, self.model.language)
        epoch = source.epoch(self.model.epoch)
        cam = source.camera(camera=self.model.camera, epoch=epoch)
        with OffscreenRenderer(PREVIEW, antialias=None) as r:
            r.set_scene(source.scene(epoch, lod=2))
            img = r.render(cam)
        qimg = QImage(img.data, img.shape[1], img.shape[0], img.shape[1] * 3,
                      QImage.Format.Format_RGB888).copy()
        self.preview.setPixmap(QPixmap.fromImage(qimg))
        return qimg

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self.running:
            return
        out = Path(self.out.text()).expanduser()
        self.status.setText(self.tr("Exporting…"))
        self.progress.setValue(0)
        self.export_button.setEnabled(False)
        self._thread = QThread(self)
        self._worker = _Worker(self.archive, self.site_ref, self.model.language,
                               self.kind.currentData(), out, self.options())
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancelled = True
            self.status.setText(self.tr("Cancelling…"))
        else:
            self.reject()

    def _on_progress(self, fraction: float, what: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(what)

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._thread, self._worker = None, None
        self.export_button.setEnabled(True)

    def _on_finished(self, text: str) -> None:
        self._stop_thread()
        self.progress.setValue(1000)
        self.result_text = text
        self.status.setText(self.tr("Written: %1").replace("%1", text))
        self.done_export.emit(text)

    def _on_failed(self, message: str) -> None:
        self._stop_thread()
        self.progress.setValue(0)
        self.result_text = ""
        self.status.setText(message or self.tr("Cancelled: nothing was written."))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._worker is not None:
            self._worker.cancelled = True
            self._stop_thread()
        super().closeEvent(event)
