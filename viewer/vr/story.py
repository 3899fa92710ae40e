"""Stories in the headset: the kiosk's and the desktop's guided tours (`viewer.model.stories`)
played in VR, as plain code (no OpenXR, no GL).

A stop's camera becomes a place for the visitor: a camera high above the ground (an overview,
a view of a change from the air) shows the site as a table-top miniature seen from the camera's
side; a camera near the ground puts the visitor there at life size, looking where the camera
looks. The stop's epoch, its earlier epoch A and its compare mode pick the epoch shown and the
heatmap's pair. Visitors step with next/back; a visitor who does nothing is taken through the
story at each stop's own pace, and round again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from viewer.model.stories import Stop, Story

#: metres above the ground: a stop's camera higher than this is shown as a miniature
MINIATURE_ABOVE = 25.0


@dataclass(frozen=True)
class StopPlace:
    """What a stop means for the VR rig and the heatmap."""

    epoch: int                      # index into the scene's epochs
    heatmap: bool
    compare: int                    # index into that epoch's comparisons (0 when none)
    miniature: bool
    site_point: tuple[float, float, float]   # life size: where to stand; miniature: unused
    bearing: float                  # radians clockwise from north: where the camera looks


def stop_place(stop: Stop, epochs: Sequence[str], compare_with: Sequence[Sequence[str]],
               ground: Callable[[int, float, float], float | None]) -> StopPlace:
    """The VR place of a story stop. `ground(epoch, x, y)` is the walkable height there (None
    where there is no surface)."""
    epoch = epochs.index(stop.epoch) if stop.epoch in epochs else len(epochs) - 1
    options = list(compare_with[epoch])
    compare = options.index(stop.epoch_a) if stop.epoch_a in options else 0
    heatmap = stop.compare == "heatmap" and bool(options)
    return camera_place(stop.camera.position, stop.camera.focal_point, epoch, ground, heatmap,
                        compare)


def camera_place(position: Sequence[float], focal_point: Sequence[float], epoch: int,
                 ground: Callable[[int, float, float], float | None], heatmap: bool = False,
                 compare: int = 0) -> StopPlace:
    """Where a desktop camera (site frame) puts the visitor: high above the ground, the
    miniature seen from the camera's side; near it, standing there looking the same way."""
    pos = np.asarray(position, np.float64)
    look = np.asarray(focal_point, np.float64) - pos
    bearing = math.atan2(look[0], look[1]) if np.hypot(look[0], look[1]) > 1e-9 else 0.0
    z = ground(epoch, float(pos[0]), float(pos[1]))
    miniature = z is None or pos[2] - z > MINIATURE_ABOVE
    point = (float(pos[0]), float(pos[1]), float(z if z is not None else pos[2]))
    return StopPlace(epoch, heatmap, compare, miniature, point, bearing)


class StoryPlayer:
    """Which stop of a story is on, with next/back and autoplay.

    `step(now, forward, back)` takes the held states of the next and back buttons and returns
    the stop to go to when it changes (an edge of a button, or autoplay after the stop's
    `duration_s` without a press), else None. After the last stop, autoplay starts again.
    """

    def __init__(self, story: Story, autoplay: bool = True):
        self.story = story
        self.autoplay = autoplay
        self.index = 0
        self._since: float | None = None
        self._held = (False, False)

    @property
    def stop(self) -> Stop:
        return self.story.stops[self.index]

    def restart(self) -> None:
        self.index, self._since, self._held = 0, None, (False, False)

    def step(self, now: float, forward: bool = False, back: bool = False) -> Stop | None:
        pressed = (forward and not self._held[0], back and not self._held[1])
        self._held = (forward, back)
        if self._since is None:                       # the first frame: the first stop
            self._since = now
            return self.stop
        n = len(self.story.stops)
        if pressed[0] or pressed[1]:
            target = self.index + (1 if pressed[0] else -1)
            if not 0 <= target < n:
                return None
            self.index, self._since = target, now
            return self.stop
        if self.autoplay and now - self._since >= self.stop.duration_s:
            self.index, self._since = (self.index + 1) % n, now
            return self.stop
        return None
