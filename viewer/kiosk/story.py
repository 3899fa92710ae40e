"""Playing a story on the kiosk: the card (title, text, optional image, n / N, back, next,
autoplay) and the moves between stops (the camera glides, epochs crossfade)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from viewer.kiosk.style import Metrics
from viewer.model.state import ViewerModel
from viewer.model.stories import Story, apply_stop

GLIDE_MS = 1400


class StoryPlayer(QObject):
    """Walks a story's stops on the model; `finished` after the last stop's time (autoplay)
    or when the visitor taps Next on it."""

    stop_changed = Signal(int)
    finished = Signal()

    def __init__(self, model: ViewerModel, begin_interaction, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self.begin_interaction = begin_interaction
        self.story: Story | None = None
        self.index = -1
        self.autoplay = False
        self.stop_seconds: float | None = None     # overrides each stop's duration (attract)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.next)
        self.glide = QVariantAnimation(self)
        self.glide.setStartValue(0.0)
        self.glide.setEndValue(1.0)
        self.glide.setDuration(GLIDE_MS)
        self._from = self._to = None
        self.glide.valueChanged.connect(self._glide_step)
        self.glide.finished.connect(self._glide_done)

    @property
    def playing(self) -> bool:
        return self.story is not None

    def play(self, story: Story, autoplay: bool = False, stop_seconds: float | None = None):
        self.story, self.autoplay, self.stop_seconds = story, autoplay, stop_seconds
        self.index = -1
        self.next()

    def stop(self) -> None:
        self.timer.stop()
        self.glide.stop()
        self.story, self.index = None, -1

    def set_autoplay(self, on: bool) -> None:
        self.autoplay = on
        self._arm()

    def next(self) -> None:
        if self.story is None:
            return
        if self.index + 1 >= len(self.story.stops):
            self.stop()
            self.finished.emit()
            return
        self.go(self.index + 1)

    def back(self) -> None:
        if self.story is not None and self.index > 0:
            self.go(self.index - 1)

    def go(self, index: int) -> None:
        stop = self.story.stops[index]
        self.index = index
        start = self.model.camera
        apply_stop(self.model, stop)
        end = stop.camera.to_camera()
        if start is not None:                      # glide there instead of jumping
            self._from, self._to = start, end
            self.model.set_camera(start)
            self.glide.stop()
            self.glide.start()
        self.stop_changed.emit(index)
        self._arm()

    def _glide_step(self, t: object) -> None:
        if self._from is None or self.story is None:
            return
        self.begin_interaction()
        s = float(t)
        s = s * s * (3 - 2 * s)                    # ease in and out
        self.model.set_camera(self._from.lerp(self._to, s))

    def _glide_done(self) -> None:
        if self.story is not None and self._to is not None:
            self.model.set_camera(self._to)      # exactly the stop's view, whatever the ticks

    def _arm(self) -> None:
        self.timer.stop()
        if self.story is not None and self.autoplay and self.index >= 0:
            seconds = self.stop_seconds or self.story.stops[self.index].duration_s
            self.timer.start(round(seconds * 1000))


class StoryCard(QWidget):
    """The card over the bottom of the view while a story plays."""

    closed = Signal()

    def __init__(self, player: StoryPlayer, model: ViewerModel, m: Metrics,
                 image_path=lambda logical: None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("story-card")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.player, self.model, self.metrics = player, model, m
        self.image_path = image_path
        self.story_title = QLabel(self)
        self.story_title.setObjectName("small")
        self.title = QLabel(self)
        self.title.setObjectName("title")
        self.title.setWordWrap(True)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.image = QLabel(self)
        self.image.hide()
        self.counter = QLabel(self)
        self.back = QPushButton(self)
        self.next = QPushButton(self)
        self.auto = QPushButton(self)
        self.auto.setCheckable(True)
        self.close_button = QPushButton(self)
        for b, name in ((self.back, "story-back"), (self.next, "story-next"),
                        (self.auto, "story-autoplay"), (self.close_button, "story-close")):
            b.setObjectName(name)
        body = QVBoxLayout()
        body.setSpacing(m.px(8))
        body.addWidget(self.story_title)
        body.addWidget(self.title)
        body.addWidget(self.text, 1)
        top = QHBoxLayout()
        top.setSpacing(m.gap)
        top.addLayout(body, 1)
        top.addWidget(self.image)
        buttons = QHBoxLayout()
        buttons.setSpacing(m.px(16))
        buttons.addWidget(self.close_button)
        buttons.addStretch(1)
        buttons.addWidget(self.counter)
        buttons.addWidget(self.back)
        buttons.addWidget(self.auto)
        buttons.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.gap, m.gap, m.gap, m.gap)
        layout.setSpacing(m.px(16))
        layout.addLayout(top)
        layout.addLayout(buttons)
        self.back.clicked.connect(player.back)
        self.next.clicked.connect(player.next)
        self.auto.toggled.connect(player.set_autoplay)
        self.close_button.clicked.connect(self.closed.emit)
        player.stop_changed.connect(lambda _: self.refresh())
        model.events.language.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        p, lang = self.player, self.model.language
        self.back.setText("◀  " + self.tr("Back"))
        self.auto.setText(self.tr("Pause") if p.autoplay else self.tr("Play"))
        self.auto.blockSignals(True)
        self.auto.setChecked(p.autoplay)
        self.auto.blockSignals(False)
        self.close_button.setText("✕  " + self.tr("End story"))
        if p.story is None or p.index < 0:
            return
        stop = p.story.stops[p.index]
        last = p.index == len(p.story.stops) - 1
        self.next.setText(self.tr("Finish") if last else self.tr("Next") + "  ▶")
        self.back.setEnabled(p.index > 0)
        self.story_title.setText(p.story.title.get(lang))
        self.title.setText(stop.title.get(lang))
        self.text.setText(stop.text.get(lang))
        self.counter.setText(f"{p.index + 1} / {len(p.story.stops)}")
        path = self.image_path(stop.image) if stop.image else None
        pixmap = QPixmap(str(path)) if path else QPixmap()
        if pixmap.isNull():
            self.image.hide()
        else:
            h = self.metrics.px(220)
            self.image.setPixmap(pixmap.scaledToHeight(
                h, Qt.TransformationMode.SmoothTransformation))
            self.image.show()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)


class StoryChooser(QWidget):
    """The site's stories as large buttons (title and number of stops), shown when the
    visitor taps Story on a site with more than one."""

    chosen = Signal(str)          # the story's id
    closed = Signal()

    def __init__(self, model: ViewerModel, m: Metrics, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("story-card")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.model, self.metrics = model, m
        self.stories: list[Story] = []
        self.heading = QLabel(self)
        self.heading.setObjectName("title")
        self.buttons: dict[str, QPushButton] = {}
        self.list = QVBoxLayout()
        self.list.setSpacing(m.px(12))
        self.close_button = QPushButton(self)
        self.close_button.setObjectName("story-close")
        self.close_button.clicked.connect(self.closed.emit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.gap, m.gap, m.gap, m.gap)
        layout.setSpacing(m.px(16))
        layout.addWidget(self.heading)
        layout.addLayout(self.list)
        row = QHBoxLayout()
        row.addWidget(self.close_button)
        row.addStretch(1)
        layout.addLayout(row)
        model.events.language.connect(self.refresh)

    def set_stories(self, stories: list[Story]) -> None:
        for b in self.buttons.values():
            self.list.removeWidget(b)
            b.deleteLater()
        self.stories, self.buttons = list(stories), {}
        for story in self.stories:
            b = QPushButton(self)
            b.setObjectName("story-choice")
            b.clicked.connect(lambda _=False, sid=story.id: self.chosen.emit(sid))
            self.list.addWidget(b)
            self.buttons[story.id] = b
        self.refresh()

    def refresh(self) -> None:
        lang = self.model.language
        self.heading.setText(self.tr("Choose a story"))
        self.close_button.setText("✕  " + self.tr("Back to exploring"))
        for story in self.stories:
            self.buttons[story.id].setText(
                story.title.get(lang) + "  ·  " +
                self.tr("%1 stops").replace("%1", str(len(story.stops))))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)
