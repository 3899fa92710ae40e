"""Label placement over a VTK view: labels of hidden things stay hidden, labels never overlap.

Any front-end that writes text next to 3D points (desktop hotspots, kiosk stops, export stills)
asks here where each label goes; it draws the labels itself (Qt widgets, QPainter, PIL, ...)::

    probe = DepthProbe(view.renderer)               # once per view, before rendering
    probe.watch([a.position for a in annotations])  # the anchors to test in each frame
    ...                                             # after a frame was drawn:
    placed = place_labels(view.renderer, [LabelItem(a.id, a.position, (w, h), priority)],
                          (view_w, view_h), occlusion=probe)
    for p in placed:
        label.setVisible(p.visible)
        if p.visible:
            label.move(p.rect[0], p.rect[1])

Pixels are widget pixels with the origin top left (Qt's convention); `pixel_ratio` converts to
the render window's device pixels (bottom-left origin) on high-DPI screens.

Occlusion. An anchor is hidden when a drawn surface lies in front of it along the ray from the
eye. Two ways to know, both on what the renderer really draws:

- `DepthProbe` (for every frame): observes the renderer's EndEvent, where the depth buffer holds
  the scene's depth (later layers, e.g. a marker overlay, clear it), and reads the depth under
  each watched anchor: a few single-pixel reads, ~0.03 ms each on llvmpipe.
- `RayOcclusion` (any time, no frame needed, e.g. a still computed before rendering): a cell
  picker ray cast through the renderer's visible actors, O(cells) per anchor.

A surface within `tolerance` of the anchor (default 1 % of its distance from the eye, at least
0.25 m) does not hide it: anchors sit on the surfaces they name.

Overlaps. Labels are placed in order of priority (higher first; ties: nearer the eye first);
each tries four spots around its anchor (right, left, above, below) and takes the first that is
inside the view and clear of the labels placed before it; if none is free it is dropped with the
reason "overlap".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

SHOWN, BEHIND, OFF_SCREEN, OCCLUDED, OVERLAP = ("shown", "behind-camera", "off-screen",
                                                 "occluded", "overlap")
GAP = 10.0         # pixels between an anchor and its label
MARGIN = 3.0       # pixels kept clear between two labels
MIN_TOLERANCE = 0.25


@dataclass(frozen=True)
class LabelItem:
    key: str
    anchor: tuple[float, float, float]   # world (site frame) coordinates
    size: tuple[float, float]            # the label's width and height in widget pixels
    priority: float = 0.0                # higher wins when two labels would overlap


@dataclass(frozen=True)
class PlacedLabel:
    key: str
    anchor_px: tuple[float, float]                          # the anchor in widget pixels
    rect: tuple[float, float, float, float] | None          # x, y, w, h; None when not shown
    reason: str                                             # SHOWN or why it is not shown

    @property
    def visible(self) -> bool:
        return self.reason == SHOWN


class Occlusion(Protocol):
    def hidden(self, renderer: Any, anchor: np.ndarray, display: tuple[float, float]) -> bool:
        """Whether a drawn surface hides `anchor` (display: its device-pixel position)."""


def _eye(renderer: Any) -> np.ndarray:
    return np.asarray(renderer.GetActiveCamera().GetPosition(), dtype=np.float64)


def _tolerance(distance: float, tolerance: float | None) -> float:
    return tolerance if tolerance is not None else max(MIN_TOLERANCE, 0.01 * distance)


def project(renderer: Any, point: Iterable[float]) -> tuple[float, float, float]:
    """Display (device pixel, bottom-left origin) x, y and depth in [0, 1] of a world point."""
    p = [float(v) for v in point]
    renderer.SetWorldPoint(p[0], p[1], p[2], 1.0)
    renderer.WorldToDisplay()
    x, y, z = renderer.GetDisplayPoint()
    return float(x), float(y), float(z)


def _unproject(renderer: Any, x: float, y: float, z: float) -> np.ndarray:
    renderer.SetDisplayPoint(x, y, z)
    renderer.DisplayToWorld()
    w = renderer.GetWorldPoint()
    return np.asarray(w[:3], dtype=np.float64) / (w[3] if w[3] else 1.0)


class DepthProbe:
    """Reads, after the renderer drew its props and before anything else clears the depth
    buffer, how far the drawn surface is under each watched anchor."""

    def __init__(self, renderer: Any, tolerance: float | None = None):
        self.renderer = renderer
        self.tolerance = tolerance
        self._anchors = np.zeros((0, 3))
        self._surface: dict[tuple[float, float, float], float] = {}  # anchor -> surface dist
        self.frames = 0
        self._observer = renderer.AddObserver("EndEvent", self._read)

    def watch(self, anchors: Iterable[Iterable[float]]) -> None:
        self._anchors = np.asarray([tuple(a) for a in anchors], dtype=np.float64).reshape(-1, 3)

    def close(self) -> None:
        self.renderer.RemoveObserver(self._observer)

    def _read(self, *_: Any) -> None:
        ren = self.renderer
        win = ren.GetRenderWindow()
        if win is None:
            return
        w, h = win.GetSize()
        eye = _eye(ren)
        surface: dict[tuple[float, float, float], float] = {}
        for a in self._anchors:
            x, y, z = project(ren, a)
            if not (0.0 < z < 1.0 and 0 <= x < w and 0 <= y < h):
                continue
            depth = float(win.GetZbufferDataAtPoint(int(x), int(y)))
            if depth >= 1.0:
                surface[tuple(a)] = float("inf")  # nothing drawn there
            else:
                surface[tuple(a)] = float(np.linalg.norm(_unproject(ren, x, y, depth) - eye))
        self._surface = surface
        self.frames += 1

    def hidden(self, renderer: Any, anchor: np.ndarray, display: tuple[float, float]) -> bool:
        d_surface = self._surface.get(tuple(float(v) for v in anchor))
        if d_surface is None:
            return False  # not read in the last frame (newly watched): not known to be hidden
        d_anchor = float(np.linalg.norm(anchor - _eye(renderer)))
        return d_surface < d_anchor - _tolerance(d_anchor, self.tolerance)


class RayOcclusion:
    """A ray cast from the eye through the anchor against the renderer's visible actors."""

    def __init__(self, tolerance: float | None = None):
        self.tolerance = tolerance

    def hidden(self, renderer: Any, anchor: np.ndarray, display: tuple[float, float]) -> bool:
        from vtkmodules.vtkRenderingCore import vtkCellPicker

        picker = vtkCellPicker()
        picker.SetTolerance(0.0)
        picker.PickFromListOn()
        props = renderer.GetViewProps()
        props.InitTraversal()
        for _ in range(props.GetNumberOfItems()):
            prop = props.GetNextProp()
            if prop.GetVisibility() and prop.GetPickable():
                picker.AddPickList(prop)
        if not picker.Pick(display[0], display[1], 0.0, renderer):
            return False
        eye = _eye(renderer)
        d_hit = float(np.linalg.norm(np.asarray(picker.GetPickPosition()) - eye))
        d_anchor = float(np.linalg.norm(anchor - eye))
        return d_hit < d_anchor - _tolerance(d_anchor, self.tolerance)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return not (a[0] + a[2] + MARGIN <= b[0] or b[0] + b[2] + MARGIN <= a[0] or
                a[1] + a[3] + MARGIN <= b[1] or b[1] + b[3] + MARGIN <= a[1])


def _candidates(x: float, y: float, w: float, h: float) -> list[tuple[float, float, float, float]]:
    return [(x + GAP, y - h / 2, w, h),              # right of the anchor
            (x - GAP - w, y - h / 2, w, h),          # left
            (x - w / 2, y - GAP - h, w, h),          # above
            (x - w / 2, y + GAP, w, h)]              # below


def place_labels(renderer: Any, items: Sequence[LabelItem], size: tuple[float, float], *,
                 occlusion: Occlusion | None = None, pixel_ratio: float = 1.0,
                 reserved: Sequence[tuple[float, float, float, float]] = ()) -> list[PlacedLabel]:
    """Where each label goes, in the order of `items`.

    renderer: the vtkRenderer whose camera and drawn props the labels refer to.
    size: the view's width and height in widget pixels.
    occlusion: a `DepthProbe` (per frame) or `RayOcclusion`; default: a `RayOcclusion`.
    reserved: widget-pixel rectangles no label may cover (a card, a caption, a legend).
    """
    occlusion = occlusion if occlusion is not None else RayOcclusion()
    width, height = size
    win = renderer.GetRenderWindow()
    win_h = win.GetSize()[1] if win is not None else height * pixel_ratio
    eye = _eye(renderer)
    result: dict[str, PlacedLabel] = {}
    order = []
    for item in items:
        anchor = np.asarray(item.anchor, dtype=np.float64)
        dx, dy, dz = project(renderer, anchor)
        px = (dx / pixel_ratio, (win_h - dy) / pixel_ratio)
        if not 0.0 < dz < 1.0:
            result[item.key] = PlacedLabel(item.key, px, None, BEHIND)
        elif not (0 <= px[0] < width and 0 <= px[1] < height):
            result[item.key] = PlacedLabel(item.key, px, None, OFF_SCREEN)
        elif occlusion.hidden(renderer, anchor, (dx, dy)):
            result[item.key] = PlacedLabel(item.key, px, None, OCCLUDED)
        else:
            order.append((-item.priority, float(np.linalg.norm(anchor - eye)), item, px))
    taken = [tuple(r) for r in reserved]
    for _, _, item, px in sorted(order, key=lambda o: (o[0], o[1])):
        spot = None
        for rect in _candidates(px[0], px[1], *item.size):
            inside = rect[0] >= 0 and rect[1] >= 0 and rect[0] + rect[2] <= width and \
                rect[1] + rect[3] <= height
            if inside and not any(_overlaps(rect, t) for t in taken):
                spot = rect
                break
        if spot is None:
            result[item.key] = PlacedLabel(item.key, px, None, OVERLAP)
        else:
            taken.append(spot)
            result[item.key] = PlacedLabel(item.key, px, spot, SHOWN)
    return [result[item.key] for item in items]
