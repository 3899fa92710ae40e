"""The viewer's scene/state model: what is shown, not how (no Qt, no VTK).

Qt widgets and renderers observe it through `Signal`s (napari's components/_qt/_vispy split):
widgets call the setters, the model validates and emits, every observer redraws from the model.
Geometry helpers for the camera and measurements live here so they can be tested without a
window and reused by the VR renderer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np

from viewer.model.change_display import ColourScale, colour_scale

LANGUAGES = ("de", "en")


class Signal:
    """A list of callbacks; `emit` calls each with the given arguments, in connection order."""

    def __init__(self) -> None:
        self._slots: list[Callable[..., Any]] = []

    def connect(self, slot: Callable[..., Any]) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            slot(*args)


# --------------------------------------------------------------------------- site description

@dataclass(frozen=True)
class Text:
    """A German/English text pair; `get` falls back to the other language when one is empty."""

    de: str = ""
    en: str = ""

    def get(self, language: str) -> str:
        first, second = (self.de, self.en) if language == "de" else (self.en, self.de)
        return first or second

    def only_in_other(self, language: str) -> bool:
        """True when the text exists only in the other language (`get` falls back to it)."""
        first, second = (self.de, self.en) if language == "de" else (self.en, self.de)
        return not first and bool(second)

    @classmethod
    def from_json(cls, value: Any) -> Text:
        if isinstance(value, dict):
            return cls(de=str(value.get("de") or ""), en=str(value.get("en") or ""))
        if isinstance(value, str):
            return cls(de=value, en=value)
        return cls()


@dataclass(frozen=True)
class EpochInfo:
    id: str
    date: date | None
    capture: str = ""
    sensor: str = ""
    operator: str = ""
    lods: dict[int, str] = field(default_factory=dict)        # LOD -> logical path of the GLB
    face_counts: dict[int, int] = field(default_factory=dict)  # LOD -> triangles, when known
    provenance: dict[str, str] = field(default_factory=dict)   # label -> value, for display
    provenance_path: str | None = None
    registration: dict[str, Any] = field(default_factory=dict)  # epoch.json's, as stored


@dataclass(frozen=True)
class AnnotationInfo:
    id: str
    position: tuple[float, float, float]                       # site frame
    title: Text
    text: Text
    epochs: tuple[str, ...] = ()                               # empty: every epoch

    def applies_to(self, epoch: str | None) -> bool:
        return not self.epochs or epoch in self.epochs


@dataclass(frozen=True)
class ChangeRef:
    """One stored change product: `changes/<a>__<b>/<key>/`."""

    a: str
    b: str
    key: str
    lods: dict[int, str] = field(default_factory=dict)         # LOD of epoch b -> logical .npz
    summary: str | None = None                                 # logical path of summary.json
    current: bool = True                                       # made by today's algorithm

    @property
    def method(self) -> str:
        """The method id the product's folder starts with (`dod-<key>`, `m3c2-<key>`)."""
        return self.key.split("-", 1)[0].lower()


@dataclass(frozen=True)
class SiteInfo:
    id: str
    name: Text
    description: Text
    crs: str
    origin: tuple[float, float, float]                         # float64 in `crs`
    licence: str = ""
    attribution: str = ""
    epochs: tuple[EpochInfo, ...] = ()                         # sorted by date
    annotations: tuple[AnnotationInfo, ...] = ()
    changes: tuple[ChangeRef, ...] = ()
    version: int | None = None

    def epoch(self, epoch_id: str | None) -> EpochInfo | None:
        return next((e for e in self.epochs if e.id == epoch_id), None)

    @property
    def epoch_ids(self) -> list[str]:
        return [e.id for e in self.epochs]

    def change(self, a: str, b: str, method: str | None = None) -> ChangeRef | None:
        """The newest stored change product of the pair (of `method`, when given) that today's
        algorithm made; older ones are superseded (`stale`)."""
        return next((c for c in self.changes if c.a == a and c.b == b and c.current and
                     (method is None or c.method == method)), None)

    def stale(self, a: str, b: str, method: str | None = None) -> bool:
        """Whether the pair has only products of an older algorithm (of `method`)."""
        return self.change(a, b, method) is None and any(
            c.a == a and c.b == b and (method is None or c.method == method)
            for c in self.changes)

    def matches(self, query: str) -> bool:
        """Case-insensitive search over the id and both names."""
        q = query.strip().casefold()
        return not q or any(q in s.casefold() for s in (self.id, self.name.de, self.name.en))


# --------------------------------------------------------------------------- camera

def _vec(v: Iterable[float]) -> np.ndarray:
    return np.asarray(tuple(v), dtype=np.float64)


@dataclass(frozen=True)
class Camera:
    """A perspective camera in the site frame (z up)."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = 30.0

    @property
    def direction(self) -> np.ndarray:
        d = _vec(self.focal_point) - _vec(self.position)
        return d / max(np.linalg.norm(d), 1e-12)

    @property
    def distance(self) -> float:
        return float(np.linalg.norm(_vec(self.focal_point) - _vec(self.position)))

    def _right(self) -> np.ndarray:
        r = np.cross(self.direction, _vec(self.view_up))
        n = np.linalg.norm(r)
        return r / n if n > 1e-12 else np.array([1.0, 0.0, 0.0])

    @staticmethod
    def fit(bounds: Iterable[float], view_angle: float = 30.0) -> Camera:
        """An oblique view from the south-west that shows the whole bounding box."""
        x0, x1, y0, y1, z0, z1 = (float(b) for b in bounds)
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
        radius = max(0.5 * math.dist((x0, y0, z0), (x1, y1, z1)), 1e-3)
        dist = radius / math.sin(math.radians(view_angle) / 2) * 1.05
        d = np.array([-0.55, -0.75, 0.45])
        d /= np.linalg.norm(d)
        return Camera(tuple(centre + d * dist), tuple(centre), (0.0, 0.0, 1.0), view_angle)

    def orbit(self, azimuth_deg: float, elevation_deg: float = 0.0) -> Camera:
        """Turn the position around the focal point: azimuth about +z, elevation about right."""
        f = _vec(self.focal_point)
        v = _vec(self.position) - f
        v = _rotate(v, np.array([0.0, 0.0, 1.0]), math.radians(azimuth_deg))
        right = np.cross(-v / np.linalg.norm(v), np.array([0.0, 0.0, 1.0]))
        if np.linalg.norm(right) > 1e-9 and elevation_deg:
            right /= np.linalg.norm(right)
            rotated = _rotate(v, right, -math.radians(elevation_deg))
            # stop short of the poles so "up" stays defined
            if abs(rotated[2]) / np.linalg.norm(rotated) < 0.995:
                v = rotated
        return replace(self, position=tuple(f + v), view_up=(0.0, 0.0, 1.0))

    def dolly(self, factor: float) -> Camera:
        """Move towards the focal point: factor > 1 zooms in (distance / factor)."""
        f = _vec(self.focal_point)
        p = f + (_vec(self.position) - f) / max(factor, 1e-6)
        return replace(self, position=tuple(p))

    def pan(self, right: float, up: float) -> Camera:
        """Shift position and focal point in the view plane (metres)."""
        up_v = np.cross(self._right(), self.direction)
        shift = self._right() * right + up_v * up
        return replace(self, position=tuple(_vec(self.position) + shift),
                       focal_point=tuple(_vec(self.focal_point) + shift))

    def fly(self, forward: float, right: float, up: float) -> Camera:
        """First-person move: forward along the horizontal view direction, up along +z."""
        d = self.direction.copy()
        d[2] = 0.0
        d = d / np.linalg.norm(d) if np.linalg.norm(d) > 1e-9 else np.array([0.0, 1.0, 0.0])
        r = np.cross(d, [0.0, 0.0, 1.0])
        shift = d * forward + r * right + np.array([0.0, 0.0, up])
        return replace(self, position=tuple(_vec(self.position) + shift),
                       focal_point=tuple(_vec(self.focal_point) + shift))

    def turn(self, yaw_deg: float, pitch_deg: float = 0.0) -> Camera:
        """First-person turn about the eye: yaw about +z (positive: to the left), pitch up."""
        d = _vec(self.focal_point) - _vec(self.position)
        d = _rotate(d, np.array([0.0, 0.0, 1.0]), math.radians(yaw_deg))
        right = np.cross(d, [0.0, 0.0, 1.0])
        if np.linalg.norm(right) > 1e-9 and pitch_deg:
            turned = _rotate(d, right / np.linalg.norm(right), math.radians(pitch_deg))
            if abs(turned[2]) < 0.98 * np.linalg.norm(turned):  # never straight up or down
                d = turned
        return replace(self, focal_point=tuple(_vec(self.position) + d))

    def look_at(self, target: Iterable[float], distance: float) -> Camera:
        """Keep the viewing direction, centre `target` at `distance`."""
        t = _vec(target)
        return replace(self, focal_point=tuple(t), position=tuple(t - self.direction * distance))

    def lerp(self, other: Camera, t: float) -> Camera:
        def mix(a, b):
            return tuple(_vec(a) * (1 - t) + _vec(b) * t)
        return Camera(mix(self.position, other.position), mix(self.focal_point, other.focal_point),
                      mix(self.view_up, other.view_up),
                      self.view_angle * (1 - t) + other.view_angle * t)

    def to_json(self) -> dict[str, Any]:
        return {"position": list(self.position), "focal_point": list(self.focal_point),
                "view_up": list(self.view_up), "view_angle": self.view_angle}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Camera:
        return cls(tuple(map(float, d["position"])), tuple(map(float, d["focal_point"])),
                   tuple(map(float, d.get("view_up", (0, 0, 1)))),
                   float(d.get("view_angle", 30.0)))


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' rotation of v about a unit axis."""
    c, s = math.cos(angle), math.sin(angle)
    return v * c + np.cross(axis, v) * s + axis * np.dot(axis, v) * (1 - c)


def apply_pinch(cam: Camera, scale: float, rotation_deg: float) -> Camera:
    """A pinch step: spread fingers (scale > 1) moves closer; turning them orbits about +z."""
    if scale > 0:
        cam = cam.dolly(scale)
    return cam.orbit(-rotation_deg) if rotation_deg else cam


def apply_pan(cam: Camera, dx: float, dy: float, view_height_px: int) -> Camera:
    """Drag the scene with the fingers: pixels -> metres at the focal distance."""
    metres_per_px = 2 * cam.distance * math.tan(math.radians(cam.view_angle) / 2) \
        / max(view_height_px, 1)
    return cam.pan(-dx * metres_per_px, dy * metres_per_px)


def touch_camera(start: Camera, before: list[tuple[float, float]],
                 now: list[tuple[float, float]], view_height_px: int) -> Camera:
    """The camera for a touch drag from `before` to `now` (widget pixels, same fingers), from
    the camera when it began: one finger orbits; two fingers zoom by their spread, turn about
    +z by their twist and move the view with their midpoint."""
    if len(before) == 1:
        dx, dy = now[0][0] - before[0][0], now[0][1] - before[0][1]
        return start.orbit(-0.3 * dx, 0.3 * dy)
    (a0, b0), (a1, b1) = before[:2], now[:2]
    d0 = math.dist(a0, b0)
    scale = math.dist(a1, b1) / d0 if d0 > 1 else 1.0
    twist = math.degrees(math.atan2(b1[1] - a1[1], b1[0] - a1[0])
                         - math.atan2(b0[1] - a0[1], b0[0] - a0[0]))
    twist = (twist + 180) % 360 - 180
    mid_dx = (a1[0] + b1[0] - a0[0] - b0[0]) / 2
    mid_dy = (a1[1] + b1[1] - a0[1] - b0[1]) / 2
    return apply_pan(apply_pinch(start, scale, twist), mid_dx, mid_dy, view_height_px)


# --------------------------------------------------------------------------- measurement

class MeasureMode(StrEnum):
    OFF = "off"
    DISTANCE = "distance"
    HEIGHT = "height"
    AREA = "area"


def polygon_area_horizontal(points: np.ndarray) -> float:
    """Planimetric area (E/N plane) of a closed polygon, shoelace formula."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def polygon_area_3d(points: np.ndarray) -> float:
    """Area of a planar polygon in 3D (Newell's method): the slope-true area of a roof, a wall."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 3:
        return 0.0
    return float(np.linalg.norm(np.cross(p, np.roll(p, -1, axis=0)).sum(axis=0)) / 2)


@dataclass(frozen=True)
class Measurement:
    """Picked points (site frame, float64) and what they measure."""

    mode: MeasureMode = MeasureMode.OFF
    points: tuple[tuple[float, float, float], ...] = ()

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.points, dtype=np.float64).reshape(-1, 3)

    @property
    def complete(self) -> bool:
        need = {MeasureMode.DISTANCE: 2, MeasureMode.HEIGHT: 2, MeasureMode.AREA: 3}
        return self.mode in need and len(self.points) >= need[self.mode]

    def results(self) -> dict[str, float]:
        """Metres and square metres; keys depend on the mode."""
        p = self.array
        if self.mode in (MeasureMode.DISTANCE, MeasureMode.HEIGHT) and len(p) >= 2:
            a, b = p[0], p[1]
            return {"distance": float(np.linalg.norm(b - a)),
                    "horizontal": float(np.linalg.norm((b - a)[:2])),
                    "height": float(b[2] - a[2])}
        if self.mode == MeasureMode.AREA and len(p) >= 3:
            closed = np.vstack([p, p[:1]])
            return {"area": polygon_area_horizontal(p), "area_3d": polygon_area_3d(p),
                    "perimeter": float(np.linalg.norm(np.diff(closed, axis=0), axis=1).sum())}
        return {}


# --------------------------------------------------------------------------- change data

@dataclass(frozen=True)
class Region:
    """A connected area of significant change (from summary.json)."""

    id: str
    sign: int                                            # +1 added/raised, -1 removed/lowered
    area: float | None                                   # m2
    volume: float | None                                 # m3, signed like `sign` when known
    centroid: tuple[float, float, float] | None          # site frame
    size: float = 10.0                                   # metres across, for the fly-to
    partial: bool = False                                # one scan did not reach all of it:
                                                         # the volume is a lower bound

    @classmethod
    def from_json(cls, d: dict[str, Any], index: int = 0) -> Region:
        def num(*keys: str) -> float | None:
            for k in keys:
                v = d.get(k)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    return float(v)
            return None

        kind = d.get("sign", d.get("kind", d.get("type", d.get("change"))))
        volume = num("volume_m3", "volume", "net_volume_m3", "net_volume")
        mean = num("mean_m", "mean", "mean_distance", "mean_change")
        if isinstance(kind, int | float):
            sign = 1 if kind > 0 else -1
        elif isinstance(kind, str) and kind:
            sign = -1 if kind.lower().startswith(("rem", "neg", "loss", "-", "low", "ero")) else 1
        else:
            ref = volume if volume is not None else mean
            sign = -1 if ref is not None and ref < 0 else 1
        centre = d.get("centroid", d.get("center", d.get("centre")))
        bbox = d.get("bbox", d.get("bounds"))
        if bbox is None and "bbox_min" in d and "bbox_max" in d:
            bbox = [d["bbox_min"], d["bbox_max"]]
        size = 10.0
        box = np.asarray(bbox, float).ravel() if isinstance(bbox, list | tuple) else None
        if box is not None and box.size == 6:
            lo, hi = (box[:3], box[3:]) if bbox and len(bbox) == 2 else (box[0::2], box[1::2])
            size = float(np.linalg.norm(hi - lo)) or size
            if centre is None:
                centre = ((lo + hi) / 2).tolist()
        elif box is not None and box.size == 4:  # E/N extent only
            size = float(np.hypot(box[2] - box[0], box[3] - box[1])) or size
            if centre is None:
                centre = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 0.0]
        area = num("area_m2", "area")
        if box is None and area:
            size = 2 * math.sqrt(area)
        c = tuple(float(v) for v in centre)[:3] if isinstance(centre, list | tuple) else None
        if c is not None and len(c) == 2:
            c = (c[0], c[1], 0.0)
        return cls(id=str(d.get("id", index + 1)), sign=sign, area=area, volume=volume,
                   centroid=c, size=size, partial=d.get("partial") is True)


@dataclass
class ChangeData:
    """Per-vertex change of epoch b's mesh against epoch a, with the summary's statistics."""

    a: str
    b: str
    lod: int
    values: np.ndarray                                   # (N,) float32 metres, NaN = no value
    level_of_detection: float | None = None              # metres; |d| below it is not significant
    significant: np.ndarray | None = None                # (N,) bool, when the product has it
    histogram: tuple[np.ndarray, np.ndarray] | None = None  # (counts, edges)
    regions: list[Region] = field(default_factory=list)
    method: str = ""
    computed: bool = False                               # computed by the viewer, not stored
    regions_method: str = ""                             # the regions' method, when another

    def scale(self) -> ColourScale:
        """The colour scale every front-end uses for this change (see change_display)."""
        return colour_scale(self.values, self.significant, self.level_of_detection)

    def symmetric_limit(self) -> float:
        return self.scale().limit


# --------------------------------------------------------------------------- the model

class CompareMode(StrEnum):
    SINGLE = "single"
    SIDE_BY_SIDE = "side"
    OVERLAY = "overlay"
    SWIPE = "swipe"
    HEATMAP = "heatmap"


class Events:
    """The model's signals, one per aspect of the state."""

    def __init__(self) -> None:
        self.sites = Signal()         # ()
        self.site = Signal()          # ()
        self.epoch = Signal()         # ()  current epoch and/or compare pair
        self.fade = Signal()          # ()  crossfade progress
        self.compare = Signal()       # ()  mode, opacity, swipe position, significance
        self.camera = Signal()        # (source)
        self.language = Signal()      # ()
        self.measure = Signal()       # ()
        self.annotation = Signal()    # ()  selection
        self.viewpoints = Signal()    # ()
        self.change = Signal()        # ()
        self.fly = Signal()           # ()
        self.message = Signal()       # (level, text)


class ViewerModel:
    """Everything the desktop (and later VR) viewer shows. Setters validate, then emit."""

    def __init__(self, language: str = "en") -> None:
        self.events = Events()
        self.language = language if language in LANGUAGES else "en"
        self.sites: list[SiteInfo] = []
        self.site: SiteInfo | None = None
        self.epoch: str | None = None            # the current epoch; "B" when comparing
        self.epoch_a: str | None = None          # the reference epoch when comparing
        self.fade_from: str | None = None        # crossfade: previous epoch fading out
        self.fade_t: float = 1.0
        self.compare_mode = CompareMode.SINGLE
        self.overlay_opacity = 0.5
        self.swipe_position = 0.5
        self.significant_only = False
        self.camera: Camera | None = None
        self.measurement = Measurement()
        self.selected_annotation: str | None = None
        self.viewpoints: dict[str, Camera] = {}
        self.change: ChangeData | None = None
        self.unreadable: set[str] = set()        # epochs of the open site whose mesh failed
        self.fly_mode = False

    # ---- sites
    def set_sites(self, sites: list[SiteInfo]) -> None:
        self.sites = list(sites)
        self.events.sites.emit()

    def open_site(self, site_id: str) -> None:
        site = next((s for s in self.sites if s.id == site_id), None)
        if site is None:
            raise KeyError(site_id)
        self.site = site
        ids = site.epoch_ids
        self.epoch = ids[-1] if ids else None
        self.epoch_a = ids[-2] if len(ids) > 1 else self.epoch
        self.fade_from, self.fade_t = None, 1.0
        self.camera = None
        self.measurement = Measurement(self.measurement.mode)
        self.selected_annotation = None
        self.viewpoints = {}
        self.change = None
        self.unreadable = set()
        self.events.site.emit()
        self.events.epoch.emit()
        self.events.measure.emit()

    def close_site(self) -> None:
        """Show nothing (another archive is being opened)."""
        self.site, self.epoch, self.epoch_a, self.fade_from = None, None, None, None
        self.camera, self.change, self.viewpoints = None, None, {}
        self.unreadable = set()
        self.measurement = Measurement(self.measurement.mode)
        self.selected_annotation = None
        self.events.site.emit()
        self.events.epoch.emit()
        self.events.measure.emit()

    def update_site(self, site: SiteInfo) -> None:
        """Replace the open site's record (a new archive version) without resetting the view."""
        self.sites = [site if s.id == site.id else s for s in self.sites]
        if self.site and self.site.id == site.id:
            self.site = site
            self.events.site.emit()

    # ---- epochs
    def set_epoch(self, epoch_id: str, fade: bool = False) -> None:
        if not self.site or epoch_id not in self.site.epoch_ids or epoch_id == self.epoch:
            return
        self.fade_from = self.epoch if fade else None
        self.fade_t = 0.0 if fade else 1.0
        self.epoch = epoch_id
        if self.epoch_a == epoch_id and self.compare_mode != CompareMode.SINGLE:
            ids = self.site.epoch_ids
            i = ids.index(epoch_id)
            self.epoch_a = ids[i - 1] if i > 0 else ids[min(i + 1, len(ids) - 1)]
        self._drop_stale_change()
        self.events.epoch.emit()

    def set_epoch_a(self, epoch_id: str) -> None:
        if not self.site or epoch_id not in self.site.epoch_ids or epoch_id == self.epoch_a:
            return
        self.epoch_a = epoch_id
        self._drop_stale_change()
        self.events.epoch.emit()

    def step_epoch(self, step: int, fade: bool = False, wrap: bool = False) -> None:
        if not self.site or not self.site.epochs:
            return
        ids = self.site.epoch_ids
        i = ids.index(self.epoch) + step if self.epoch in ids else 0
        i = i % len(ids) if wrap else min(max(i, 0), len(ids) - 1)
        self.set_epoch(ids[i], fade=fade)

    def set_fade(self, t: float) -> None:
        self.fade_t = min(max(float(t), 0.0), 1.0)
        if self.fade_t >= 1.0:
            self.fade_from = None
        self.events.fade.emit()

    # ---- compare
    def set_compare_mode(self, mode: CompareMode | str) -> None:
        mode = CompareMode(mode)
        if mode == self.compare_mode:
            return
        if mode != CompareMode.SINGLE and self.site is not None and len(self.site.epochs) < 2:
            return  # one epoch: nothing to compare (the compare bar says so)
        self.compare_mode = mode
        self.fade_from, self.fade_t = None, 1.0
        self.events.compare.emit()

    def set_overlay_opacity(self, value: float) -> None:
        self.overlay_opacity = min(max(float(value), 0.0), 1.0)
        self.events.compare.emit()

    def set_swipe_position(self, value: float) -> None:
        self.swipe_position = min(max(float(value), 0.0), 1.0)
        self.events.compare.emit()

    def set_significant_only(self, on: bool) -> None:
        self.significant_only = bool(on)
        self.events.compare.emit()

    def set_change(self, change: ChangeData | None) -> None:
        self.change = change
        self.events.change.emit()

    def _drop_stale_change(self) -> None:
        if self.change and (self.change.a, self.change.b) != (self.epoch_a, self.epoch):
            self.set_change(None)

    # ---- camera, navigation
    def set_camera(self, camera: Camera | None, source: object = None) -> None:
        """`source` identifies who changed it, so a view can skip its own update."""
        self.camera = camera
        self.events.camera.emit(source)

    def set_fly_mode(self, on: bool) -> None:
        self.fly_mode = bool(on)
        self.events.fly.emit()

    def set_viewpoints(self, viewpoints: dict[str, Camera]) -> None:
        self.viewpoints = dict(viewpoints)
        self.events.viewpoints.emit()

    # ---- language
    def set_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
        if language != self.language:
            self.language = language
            self.events.language.emit()

    # ---- measurement
    def set_measure_mode(self, mode: MeasureMode | str) -> None:
        self.measurement = Measurement(MeasureMode(mode))
        self.events.measure.emit()

    def add_measure_point(self, point: Iterable[float]) -> None:
        m = self.measurement
        if m.mode == MeasureMode.OFF:
            return
        pts = m.points
        if m.mode in (MeasureMode.DISTANCE, MeasureMode.HEIGHT) and len(pts) >= 2:
            pts = ()  # a third click starts a new measurement
        self.measurement = Measurement(m.mode, pts + (tuple(float(c) for c in point),))
        self.events.measure.emit()

    def clear_measurement(self) -> None:
        self.measurement = Measurement(self.measurement.mode)
        self.events.measure.emit()

    # ---- annotations
    def visible_annotations(self, epochs: Iterable[str | None] | None = None
                            ) -> list[AnnotationInfo]:
        """The annotations of the shown epoch, or of any of `epochs` (what one view draws)."""
        if not self.site:
            return []
        wanted = [self.epoch] if epochs is None else list(epochs)
        return [a for a in self.site.annotations if any(a.applies_to(e) for e in wanted)]

    def view_epochs(self, view: str = "primary") -> list[str]:
        """The epochs that `view` ("primary" or "secondary") draws: in side by side the primary
        view shows A and the secondary B; otherwise the primary shows `shown_epochs()`."""
        if view == "secondary":
            side = self.compare_mode == CompareMode.SIDE_BY_SIDE
            return [self.epoch] if side and self.epoch else []
        if self.compare_mode == CompareMode.SIDE_BY_SIDE:
            return [self.epoch_a] if self.epoch_a else []
        return self.shown_epochs()

    def select_annotation(self, annotation_id: str | None) -> None:
        self.selected_annotation = annotation_id
        self.events.annotation.emit()

    # ---- messages
    def message(self, level: str, text: str) -> None:
        """level: "info", "warning" or "error"; the GUI shows it, never a traceback."""
        self.events.message.emit(level, text)

    # ---- derived
    def site_to_crs(self, point: Iterable[float]) -> np.ndarray:
        """Site-frame point -> E/N/H in the site CRS, in float64."""
        origin = np.asarray(self.site.origin if self.site else (0, 0, 0), dtype=np.float64)
        return np.asarray(tuple(point), dtype=np.float64) + origin

    def shown_epochs(self) -> list[str]:
        """The epochs whose meshes the current mode draws (A before B)."""
        if not self.epoch:
            return []
        if self.compare_mode in (CompareMode.SINGLE, CompareMode.HEATMAP):
            pair = [self.fade_from, self.epoch] if self.fade_from else [self.epoch]
            return [e for e in pair if e]
        return [e for e in dict.fromkeys([self.epoch_a, self.epoch]) if e]
