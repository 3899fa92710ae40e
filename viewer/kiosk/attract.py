"""The attract loop: while nobody touches the screen, the kiosk plays the sites' stories and
slow turntables under a call to touch it, in both languages at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from viewer.kiosk.config import Attract
from viewer.kiosk.story import StoryPlayer
from viewer.model.state import ViewerModel
from viewer.model.stories import Story

CALL_DE = "Berühren zum Entdecken"
CALL_EN = "Touch to explore"
TURN_MS = 40                     # turntable step (25 steps a second; the frame rate decides)


@dataclass(frozen=True)
class Item:
    site: str
    story: Story | None          # None: a turntable


def playlist(sites: list[str], stories: dict[str, list[Story]], settings: Attract) -> list[Item]:
    """Per site, in order: its stories (if wanted), then a turntable."""
    items = []
    for sid in sites:
        if settings.stories:
            items += [Item(sid, s) for s in stories.get(sid, [])]
        items.append(Item(sid, None))
    return items


class AttractBand(QWidget):
    """The call across the bottom of the screen and the current site's name."""

    def __init__(self, metrics, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("attract-band")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.call = QLabel(f"{CALL_DE}  ·  {CALL_EN}", self)
        self.call.setObjectName("huge")
        self.call.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(self)
        self.caption.setObjectName("title")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(metrics.gap, metrics.gap, metrics.gap, metrics.gap)
        layout.addWidget(self.caption)
        layout.addWidget(self.call)
        for w in (self, self.call, self.caption):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)


class AttractLoop(QObject):
    """Steps through the playlist on the model; `open_site(id)` is the window's."""

    def __init__(self, model: ViewerModel, player: StoryPlayer, settings: Attract,
                 open_site: Callable[[str], None], begin_interaction: Callable[[], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.player, self.settings = model, player, settings
        self.open_site, self.begin_interaction = open_site, begin_interaction
        self.items: list[Item] = []
        self.index = -1
        self.running = False
        self.turn = QTimer(self)
        self.turn.setInterval(TURN_MS)
        self.turn.timeout.connect(self._turn_step)
        self.turn_end = QTimer(self)
        self.turn_end.setSingleShot(True)
        self.turn_end.timeout.connect(self.advance)
        self._turn_start = 0.0
        self._turn_camera = None
        self.on_item: Callable[[Item], None] = lambda item: None
        player.finished.connect(self._story_finished)

    def start(self, items: list[Item]) -> None:
        self.items, self.index, self.running = items, -1, True
        self.advance()

    def stop(self) -> None:
        self.running = False
        self.turn.stop()
        self.turn_end.stop()
        self.player.stop()

    def _story_finished(self) -> None:
        if self.running:
            self.advance()

    def advance(self) -> None:
        self.turn.stop()
        if not self.running or not self.items:
            return
        self.index = (self.index + 1) % len(self.items)
        item = self.items[self.index]
        if self.model.site is None or self.model.site.id != item.site:
            self.open_site(item.site)
        self.on_item(item)
        if item.story is not None:
            self.player.play(item.story, autoplay=True, stop_seconds=self.settings.stop_seconds)
        else:
            self._turn_camera = None
            self._turn_start = time.monotonic()
            self.turn.start()
            self.turn_end.start(round(self.settings.turntable_seconds * 1000))

    @property
    def current(self) -> Item | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def _turn_step(self) -> None:
        cam = self.model.camera
        if cam is None:                      # the site is still loading
            self._turn_start = time.monotonic()
            return
        if self._turn_camera is None:
            self._turn_camera = cam
        # by elapsed time: a slow frame must not slow the turn down
        angle = (time.monotonic() - self._turn_start) * self.settings.degrees_per_second
        self.begin_interaction()
        self.model.set_camera(self._turn_camera.orbit(angle))
