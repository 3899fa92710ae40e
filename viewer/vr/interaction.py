"""What the controllers do in VR mode, as pure code (no OpenXR, no GL): testable with scripted
input frames.

Comfort first: the only way to move is a teleport (aim an arc, release, a short fade to black,
arrive); turning is in 30° snaps; the world is only ever moved, turned about the vertical and
scaled uniformly (`Rig`), so the horizon always stays level; no smooth locomotion.

Controls (see actions.py for the buttons of each controller):

- teleport: push a thumbstick forward (or hold the teleport button) to aim, release to jump;
  pull the stick back to cancel. Targets must be walkable: a surface hit from above, sloping
  at most `Comfort.max_slope_deg`. In the miniature, a straight ray picks a point on the model
  and the jump lands there at life size.
- snap turn: thumbstick left/right (it must come back to the centre before the next snap).
- scale: life size <-> miniature (the site as a table-top model in front of you).
- next / previous epoch (with a short fade; at life size the user stays on the ground of the
  new epoch), heatmap on/off, which earlier epoch the heatmap compares with, significant change
  only, recenter (where the user stands).
- between visitors: `reset()` returns to the start; seated visitors, wheelchair users and
  children see from a standing adult's eye height once `calibrate_height()` has run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from viewer.vr.xform import (
    SITE_TO_STAGE,
    forward_yaw,
    quat_matrix,
    rigid_inverse,
    transform_points,
    translation,
    yaw_matrix,
)

STICK_ON = 0.7    # a stick deflection beyond this starts an action...
STICK_OFF = 0.35  # ...and must fall below this before the next one (hysteresis)
POINT_REACH = 300.0  # metres a pointing ray reaches at life size


@dataclass(frozen=True)
class Comfort:
    turn_step_deg: float = 30.0
    fade_s: float = 0.12            # each way: fade out, move, fade in
    max_slope_deg: float = 30.0     # steepest walkable surface
    arc_speed: float = 9.0          # m/s at launch: reaches ~10 m on flat ground
    arc_duration: float = 2.5       # s of flight that are sampled
    arc_points: int = 48
    ray_length: float = 3.0         # m, the pointing ray in the miniature
    table_size: float = 1.2         # m, the longer side of the site as a miniature
    table_distance: float = 1.0     # m from the head to the model's centre
    table_drop: float = 0.55        # m below the head
    default_eye_height: float = 1.6  # m above the floor, when the head is not tracked
    standing_eye_height: float = 1.6  # m: what height calibration lifts a seated user to
    step_height: float = 0.5        # m: an epoch switch keeps the user on ground this close


class Mode(StrEnum):
    LIFE_SIZE = "life-size"
    MINIATURE = "miniature"


@dataclass(frozen=True)
class Pose:
    """A pose in the stage frame: position (m) and orientation quaternion (x, y, z, w)."""

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)

    def forward(self) -> np.ndarray:
        return quat_matrix(self.orientation) @ np.array([0.0, 0.0, -1.0])


@dataclass
class HandInput:
    aim: Pose | None = None               # None while the controller is not tracked
    stick: tuple[float, float] = (0.0, 0.0)
    teleport: bool = False                # the teleport button is held


@dataclass
class InputFrame:
    """The controllers' state at one frame; buttons are *held* states (edges are found here)."""

    time: float                           # seconds, monotonic
    head: Pose | None = None
    left: HandInput = field(default_factory=HandInput)
    right: HandInput = field(default_factory=HandInput)
    next_epoch: bool = False
    previous_epoch: bool = False
    heatmap: bool = False
    scale: bool = False
    recenter: bool = False
    compare: bool = False                 # next earlier epoch for the heatmap
    significant: bool = False             # significant change only, on/off
    calibrate: bool = False               # height calibration (seated, wheelchair, children)
    present: bool = True                  # False: a script takes the headset off (tests)
    select: bool = False                  # open the card of what the right hand points at


# --------------------------------------------------------------------------- casting

@dataclass(frozen=True)
class Hit:
    point: np.ndarray        # site frame
    normal: np.ndarray       # unit, facing where the polyline came from
    walkable: bool
    segment: int
    triangle: int


class WalkSurface:
    """One mesh's triangles in a uniform x/y grid (site frame), for casting short polylines —
    teleport arcs, pointing rays, a drop to the ground — against it.

    Built once per mesh, vectorised. A cast tests only the triangles in the cells the polyline
    crosses, so its cost follows the mesh's local density, not its size.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, cell: float | None = None,
                 max_slope_deg: float = 30.0, max_cells: int = 4_000_000):
        self.vertices = np.asarray(vertices, np.float32)
        self.faces = np.asarray(faces)
        self.cos_slope = math.cos(math.radians(max_slope_deg))
        m = len(self.faces)
        self.lo = self.vertices.min(axis=0).astype(np.float64)
        self.hi = self.vertices.max(axis=0).astype(np.float64)
        ext = np.maximum(self.hi[:2] - self.lo[:2], 1e-3)
        # about four triangles per cell on average; never so fine that the grid gets huge
        cell = cell or max(math.sqrt(ext[0] * ext[1] * 4.0 / max(m, 1)), 0.25)
        cell = max(cell, math.sqrt(ext[0] * ext[1] / max_cells))
        self.cell = float(cell)
        self.nx, self.ny = (int(e / cell) + 1 for e in ext)

        # Each triangle goes into every cell its x/y box (padded by a quarter cell) touches; a
        # cast samples its polyline every half cell, so no crossing falls between samples.
        pad = cell / 4
        xy = self.vertices[:, :2]
        tmin = np.minimum(np.minimum(xy[self.faces[:, 0]], xy[self.faces[:, 1]]),
                          xy[self.faces[:, 2]])
        tmax = np.maximum(np.maximum(xy[self.faces[:, 0]], xy[self.faces[:, 1]]),
                          xy[self.faces[:, 2]])
        lim = np.array([self.nx - 1, self.ny - 1])
        c0 = np.clip(np.floor((tmin - pad - self.lo[:2]) / cell), 0, lim).astype(np.int64)
        c1 = np.clip(np.floor((tmax + pad - self.lo[:2]) / cell), 0, lim).astype(np.int64)
        span = c1 - c0 + 1
        counts = span[:, 0] * span[:, 1]
        first = np.cumsum(counts) - counts
        k = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
        width = np.repeat(span[:, 0], counts)
        cid = ((np.repeat(c0[:, 1], counts) + k // width) * self.nx
               + np.repeat(c0[:, 0], counts) + k % width)
        order = np.argsort(cid, kind="stable")
        self._tris = np.repeat(np.arange(m, dtype=np.int32), counts)[order]
        self._start = np.searchsorted(cid[order], np.arange(self.nx * self.ny + 1))
        # the highest point in each cell: a cast skips cells it passes above (most of an arc,
        # nearly all of a pointing ray over the miniature) without touching their triangles
        z = self.vertices[:, 2]
        top = np.maximum(np.maximum(z[self.faces[:, 0]], z[self.faces[:, 1]]),
                         z[self.faces[:, 2]])
        self._top = np.full(self.nx * self.ny, -np.inf, np.float32)
        filled = np.flatnonzero(self._start[1:] > self._start[:-1])
        if len(filled):
            self._top[filled] = np.maximum.reduceat(top[self._tris], self._start[filled])

    def cast(self, points: np.ndarray) -> Hit | None:
        """The first crossing of the polyline `points` ((K, 3), site frame) with the mesh."""
        p = np.asarray(points, np.float64)
        a, d = p[:-1], np.diff(p, axis=0)
        # only what lies inside the mesh's box can hit it (a long ray over a miniature
        # mostly does not)
        lo, hi = self.lo - 1e-6, self.hi + 1e-6
        with np.errstate(divide="ignore", invalid="ignore"):
            ta, tb = (lo - a) / d, (hi - a) / d
        within = (a >= lo) & (a <= hi)
        near = np.where(d != 0, np.minimum(ta, tb), np.where(within, -np.inf, np.inf))
        far = np.where(d != 0, np.maximum(ta, tb), np.where(within, np.inf, -np.inf))
        t0, t1 = np.maximum(near.max(axis=1), 0.0), np.minimum(far.min(axis=1), 1.0)
        kept = np.flatnonzero(t0 <= t1)
        if not len(kept):
            return None
        a, d = a[kept] + d[kept] * t0[kept, None], d[kept] * (t1 - t0)[kept, None]
        # samples every half cell along each segment -> (segment, cell) pairs
        n = np.ceil(np.hypot(d[:, 0], d[:, 1]) / (self.cell / 2)).astype(np.int64) + 1
        seg = np.repeat(np.arange(len(d)), n + 1)
        t = (np.arange(len(seg)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)) / \
            np.repeat(n, n + 1)
        s = a[seg] + d[seg] * t[:, None]
        c = np.floor((s[:, :2] - self.lo[:2]) / self.cell).astype(np.int64)
        inside = (c[:, 0] >= 0) & (c[:, 0] < self.nx) & (c[:, 1] >= 0) & (c[:, 1] < self.ny)
        cid = np.where(inside, c[:, 1] * self.nx + c[:, 0], 0)
        # lowest the polyline gets near each sample (between its neighbours on the segment)
        z = s[:, 2]
        zlo = z.copy()
        same = seg[1:] == seg[:-1]
        zlo[1:] = np.where(same, np.minimum(zlo[1:], z[:-1]), zlo[1:])
        zlo[:-1] = np.where(same, np.minimum(zlo[:-1], z[1:]), zlo[:-1])
        inside &= zlo <= self._top[cid]
        if not inside.any():
            return None
        ncell = self.nx * self.ny
        keys = np.unique(seg[inside] * ncell + cid[inside])
        segs, cells = keys // ncell, keys % ncell
        cnt = self._start[cells + 1] - self._start[cells]
        total = int(cnt.sum())
        if total == 0:
            return None
        pair_seg = np.repeat(segs, cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        pair_tri = self._tris[np.repeat(self._start[cells], cnt) + offs]

        # Möller-Trumbore, segment parameter in [0, 1]
        tri = self.faces[pair_tri]
        v0 = self.vertices[tri[:, 0]].astype(np.float64)
        e1 = self.vertices[tri[:, 1]] - v0
        e2 = self.vertices[tri[:, 2]] - v0
        dd = d[pair_seg]
        pv = np.cross(dd, e2)
        det = np.einsum("ij,ij->i", e1, pv)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        tv = a[pair_seg] - v0
        u = np.einsum("ij,ij->i", tv, pv) * inv
        qv = np.cross(tv, e1)
        v = np.einsum("ij,ij->i", dd, qv) * inv
        tt = np.einsum("ij,ij->i", e2, qv) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (tt >= 0) & (tt <= 1)
        if not hit.any():
            return None
        idx = np.flatnonzero(hit)
        best = idx[np.argmin(pair_seg[idx] + tt[idx])]
        sb = int(pair_seg[best])
        point = a[sb] + d[sb] * tt[best]
        normal = np.cross(e1[best], e2[best])
        normal /= np.linalg.norm(normal) or 1.0
        if np.dot(normal, d[sb]) > 0:   # winding-agnostic: face the incoming direction
            normal = -normal
        return Hit(point, normal, bool(normal[2] >= self.cos_slope), int(kept[sb]),
                   int(pair_tri[best]))

    def drop(self, x: float, y: float) -> Hit | None:
        """The highest surface at (x, y), cast from above."""
        return self.cast(np.array([[x, y, self.hi[2] + 1.0], [x, y, self.lo[2] - 1.0]]))


# --------------------------------------------------------------------------- the rig

@dataclass
class Rig:
    """Where the site is in the stage: `site_anchor` (site frame) appears at `stage_anchor`
    (stage frame), turned by `yaw` about the vertical and scaled by `scale`. Nothing else: the
    horizon stays level by construction."""

    scale: float = 1.0
    yaw: float = 0.0
    site_anchor: np.ndarray = field(default_factory=lambda: np.zeros(3))
    stage_anchor: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def stage_from_site(self) -> np.ndarray:
        return (translation(self.stage_anchor) @ yaw_matrix(self.yaw)
                @ np.diag([self.scale, self.scale, self.scale, 1.0]) @ SITE_TO_STAGE
                @ translation(-np.asarray(self.site_anchor, np.float64)))

    def copy(self) -> Rig:
        return Rig(self.scale, self.yaw, np.array(self.site_anchor, np.float64),
                   np.array(self.stage_anchor, np.float64))


@dataclass
class Aim:
    """The teleport pointer of this frame, in the stage frame (for drawing)."""

    hand: str
    points: np.ndarray          # (K, 3) the arc or ray, cut at the hit
    target: np.ndarray | None   # where the jump would land
    valid: bool


@dataclass(frozen=True)
class Pointed:
    """A selection: the pointing ray (site frame) and the surface point it meets, if any."""

    origin: np.ndarray
    direction: np.ndarray       # not normalised: its length is the ray's reach
    point: np.ndarray | None


@dataclass
class _Transition:
    start: float
    apply: object               # callable run at full black
    name: str
    applied: bool = False


class Interaction:
    """Turns input frames into the rig, the shown epoch, the heatmap switch and a fade.

    `surfaces[i]` is the walkable surface of epoch i, or a future of one (concurrent.futures:
    built in the background; until it is done, that epoch has no teleport targets);
    `has_change[i]` says whether epoch i has change values for the heatmap. `floor_y` is the
    floor's height in the base space (0 in a stage space). `update` returns the names of
    what happened, for haptics and the panel.
    """

    def __init__(self, surfaces: Sequence[WalkSurface | Future],
                 bounds: tuple[np.ndarray, np.ndarray], epochs: Sequence[str],
                 has_change: Sequence[bool] | None = None,
                 start_epoch: int = 0, mode: Mode | str = Mode.LIFE_SIZE,
                 heatmap: bool = False, floor_y: float = 0.0, comfort: Comfort | None = None,
                 compare_with: Sequence[Sequence[str]] | None = None, seated: bool = False,
                 reset_after_s: float | None = 60.0):
        if not epochs or len(surfaces) != len(epochs):
            raise ValueError("one walkable surface per epoch is needed")
        self.surfaces = list(surfaces)
        self.lo = np.asarray(bounds[0], np.float64)
        self.hi = np.asarray(bounds[1], np.float64)
        self.epochs = list(epochs)
        # per epoch, the earlier epochs its heatmap can compare with (the default first)
        if compare_with is None:
            flags = list(has_change) if has_change is not None else [False] * len(epochs)
            compare_with = [["?"] if f else [] for f in flags]
        self.compare_with = [list(c) for c in compare_with]
        self.has_change = [bool(c) for c in self.compare_with]
        self.floor_y = float(floor_y)
        self.comfort = comfort or Comfort()
        self.seated = seated
        self.floor_offset = 0.0          # m: the site's ground below the real floor (seated)
        self._start_state = (int(start_epoch), Mode(mode), bool(heatmap))
        self._held: dict[str, bool] = {}
        self._turn_latch = {"left": False, "right": False}
        self._time = 0.0
        self._head = Pose((0.0, self.floor_y + self.comfort.default_eye_height, 0.0))
        self.reset_after_s = reset_after_s
        self._away_since: float | None = None
        self.reset()

    def reset(self) -> None:
        """Back to how a visit starts: first view, its epoch, heatmap as configured, default
        comparisons, placed anew at the next frame. The height calibration is the visitor's:
        it is cleared too, and a seated station calibrates again on the next tracked head."""
        self.epoch_index, self.mode, self.heatmap = self._start_state
        self.compare_choice = [0] * len(self.epochs)
        self.significant_only = False
        self.rig = Rig()
        self.aim: Aim | None = None
        self.events: list[str] = []
        self._placed = False
        self._calibrated = False
        self._ground_pending = False
        self.floor_offset = 0.0
        self._life_rig: Rig | None = None
        self._transition: _Transition | None = None
        self._aiming: str | None = None
        self.pointed: Pointed | None = None     # the last selection's ray

    # ----------------------------------------------------------------- state for the renderer

    @property
    def epoch(self) -> str:
        return self.epochs[self.epoch_index]

    @property
    def heatmap_visible(self) -> bool:
        return self.heatmap and self.has_change[self.epoch_index]

    @property
    def busy(self) -> bool:
        """A fade (teleport, epoch, story stop...) is under way."""
        return self._transition is not None

    @property
    def head(self) -> Pose:
        """The head's last tracked pose (stage frame)."""
        return self._head

    @property
    def change_index(self) -> int:
        """Which of the shown epoch's comparisons the heatmap draws."""
        return self.compare_choice[self.epoch_index]

    @property
    def compared_with(self) -> str | None:
        """The earlier epoch the heatmap compares with, when there is one."""
        options = self.compare_with[self.epoch_index]
        return options[self.change_index] if options else None

    @property
    def ground_y(self) -> float:
        """Height of the site's ground in the base space: the floor, lowered when calibrated."""
        return self.floor_y + self.floor_offset

    @property
    def fade(self) -> float:
        """0 = clear view, 1 = black."""
        tr = self._transition
        if tr is None:
            return 0.0
        f = self.comfort.fade_s
        dt = self._time - tr.start
        return float(np.clip(dt / f if dt < f else 1.0 - (dt - f) / f, 0.0, 1.0))

    def stage_from_site(self) -> np.ndarray:
        return self.rig.stage_from_site()

    def surface(self, index: int | None = None) -> WalkSurface | None:
        s = self.surfaces[self.epoch_index if index is None else index]
        if isinstance(s, Future):
            return s.result() if s.done() else None
        return s

    def site_from_stage(self) -> np.ndarray:
        return rigid_inverse(self.rig.stage_from_site())

    # ----------------------------------------------------------------- one frame

    def presence(self, present: bool, now: float) -> bool:
        """Track whether the headset is worn (the session VISIBLE or FOCUSED; asked every loop,
        with or without frames); the next visitor starts afresh once it has been off for
        `reset_after_s` seconds of `now` (a monotonic clock). True when this call reset."""
        if present:
            self._away_since = None
            return False
        if self._away_since is None:
            self._away_since = now
            return False
        if self.reset_after_s is None or now - self._away_since < self.reset_after_s:
            return False
        self._away_since = math.inf          # once per absence
        self.reset()
        return True

    def update(self, frame: InputFrame) -> list[str]:
        self._time = frame.time
        if frame.head is not None:
            self._head = frame.head
        self.events = []
        if self.seated and not self._calibrated and frame.head is not None:
            self.calibrate_height()
        if not self._placed:
            self._place(self.mode)
            self._placed = True
        if self._ground_pending and self._transition is None:
            self._keep_on_ground()
        tr = self._transition
        if tr is not None:
            if not tr.applied and self._time >= tr.start + self.comfort.fade_s:
                tr.apply()
                tr.applied = True
                self.events.append(tr.name)
            if self._time >= tr.start + 2 * self.comfort.fade_s:
                self._transition = None

        buttons = {"next": frame.next_epoch, "previous": frame.previous_epoch,
                   "heatmap": frame.heatmap, "scale": frame.scale, "recenter": frame.recenter,
                   "compare": frame.compare, "significant": frame.significant,
                   "calibrate": frame.calibrate, "select": frame.select,
                   "teleport-left": frame.left.teleport,
                   "teleport-right": frame.right.teleport}
        pressed = {name: held and not self._held.get(name, False)
                   for name, held in buttons.items()}
        self._held = buttons
        busy = self._transition is not None

        if pressed["heatmap"]:
            if self.has_change[self.epoch_index] or self.heatmap:
                self.heatmap = not self.heatmap
                self.events.append("heatmap")
            else:
                self.events.append("no-change-data")
        if pressed["compare"]:
            self._next_comparison()
        if pressed["significant"]:
            if self.has_change[self.epoch_index]:
                self.significant_only = not self.significant_only
                self.heatmap = True
                self.events.append("significant")
            else:
                self.events.append("no-change-data")
        if pressed["calibrate"]:
            self.calibrate_height()
            self._keep_on_ground()
        if pressed["select"]:
            self.pointed = self._point(frame.right.aim or frame.left.aim)
            self.events.append("select" if self.pointed is not None else "blocked")
        if not busy:
            if pressed["next"] or pressed["previous"]:
                step = 1 if pressed["next"] else -1
                target = self.epoch_index + step
                if 0 <= target < len(self.epochs):
                    self._start("epoch", lambda: self._switch_epoch(target))
                else:
                    self.events.append("blocked")
            elif pressed["scale"]:
                self._start("scale", self._toggle_scale)
            elif pressed["recenter"]:
                self._start("recenter", self._recenter)

        for name, hand in (("left", frame.left), ("right", frame.right)):
            self._snap_turn(name, hand, busy or self._aiming == name)
        self._teleport(frame, pressed, busy)
        return self.events

    def calibrate_height(self) -> None:
        """See the site from a standing adult's eye height whatever the head's real height
        (seated, in a wheelchair, a child): the site's ground moves below the real floor."""
        head_above_floor = self._head.position[1] - self.floor_y
        self.floor_offset = head_above_floor - self.comfort.standing_eye_height
        self._calibrated = True
        if self._placed and self.mode == Mode.LIFE_SIZE:
            self.rig = Rig(self.rig.scale, self.rig.yaw, self._site_under_feet(),
                           self._floor_point())
        self.events.append("calibrated")

    # ----------------------------------------------------------------- actions

    def _start(self, name: str, apply) -> None:
        self._transition = _Transition(self._time, apply, name)
        self.aim, self._aiming = None, None

    def _snap_turn(self, name: str, hand: HandInput, blocked: bool) -> None:
        x = hand.stick[0]
        if abs(x) < STICK_OFF:
            self._turn_latch[name] = False
            return
        if blocked or self._turn_latch[name] or abs(x) < STICK_ON:
            return
        self._turn_latch[name] = True
        step = math.radians(self.comfort.turn_step_deg) * (1 if x > 0 else -1)
        if self.mode == Mode.MINIATURE:   # a turntable: turn the model about its centre
            pivot_site = self._site_centre()
        else:                             # turn about the head, keeping the ground under it
            pivot_site = transform_points(self.site_from_stage(), self._floor_point()[None])[0]
        pivot_stage = transform_points(self.stage_from_site(), pivot_site[None])[0]
        self.rig = Rig(self.rig.scale, self.rig.yaw + step, pivot_site, pivot_stage)
        self.events.append("turn-right" if x > 0 else "turn-left")

    def _teleport(self, frame: InputFrame, pressed: dict[str, bool], busy: bool) -> None:
        hands = {"left": frame.left, "right": frame.right}
        if busy:
            return
        if self._aiming is None:
            for name, hand in hands.items():
                if hand.aim is not None and (hand.stick[1] >= STICK_ON
                                             or pressed[f"teleport-{name}"]):
                    self._aiming = name
                    break
            if self._aiming is None:
                self.aim = None
                return
        hand = hands[self._aiming]
        if hand.stick[1] <= -STICK_ON:                # pulled back: cancel
            self.aim, self._aiming = None, None
            self.events.append("cancel")
            return
        held = hand.stick[1] >= STICK_OFF or hand.teleport
        if held:                                      # keep aiming (a lost pose keeps the last)
            if hand.aim is not None:
                self.aim = self._cast_aim(self._aiming, hand.aim)
            return
        aim, self.aim, self._aiming = self.aim, None, None   # released: jump if we can
        if aim is None or not aim.valid or aim.target is None:
            self.events.append("blocked")
            return
        target_site = transform_points(self.site_from_stage(), aim.target[None])[0]
        self._start("teleport", lambda: self._arrive(target_site))

    def _cast_aim(self, hand: str, pose: Pose) -> Aim:
        c = self.comfort
        origin = np.asarray(pose.position, np.float64)
        direction = pose.forward()
        if self.mode == Mode.MINIATURE:
            pts = origin + direction * np.linspace(0.0, c.ray_length, 8)[:, None]
        else:
            t = np.linspace(0.0, c.arc_duration, c.arc_points)[:, None]
            pts = origin + direction * c.arc_speed * t + np.array([0.0, -4.905, 0.0]) * t ** 2
        site_pts = transform_points(self.site_from_stage(), pts)
        surface = self.surface()
        hit = surface.cast(site_pts) if surface is not None else None
        if hit is None:
            return Aim(hand, pts, None, False)
        target = transform_points(self.stage_from_site(), hit.point[None])[0]
        return Aim(hand, np.vstack([pts[:hit.segment + 1], target]), target, hit.walkable)

    def _point(self, pose: Pose | None) -> Pointed | None:
        """A straight pointing ray from `pose` in the site frame, and where it first meets the
        shown epoch's surface (walkable or not; None when it meets nothing)."""
        if pose is None:
            return None
        origin = np.asarray(pose.position, np.float64)
        reach = self.comfort.ray_length if self.mode == Mode.MINIATURE else POINT_REACH
        pts = transform_points(self.site_from_stage(),
                               origin + pose.forward() * np.linspace(0.0, reach, 16)[:, None])
        surface = self.surface()
        hit = surface.cast(pts) if surface is not None else None
        return Pointed(pts[0], pts[-1] - pts[0], None if hit is None else hit.point)

    def _arrive(self, target_site: np.ndarray) -> None:
        """Stand at `target_site` at life size: the ground point there comes under the head."""
        self.mode = Mode.LIFE_SIZE
        self.rig = Rig(1.0, self.rig.yaw, np.asarray(target_site, np.float64),
                       self._floor_point())

    def _next_comparison(self) -> None:
        options = self.compare_with[self.epoch_index]
        if not options:
            self.events.append("no-change-data")
            return
        if self.heatmap:
            self.compare_choice[self.epoch_index] = (self.change_index + 1) % len(options)
        self.heatmap = True
        self.events.append("compare")

    def _switch_epoch(self, index: int) -> None:
        self.epoch_index = index
        self._keep_on_ground()

    def _site_under_feet(self) -> np.ndarray:
        """The site point below the user's head, at the site's ground level of the rig."""
        return transform_points(self.site_from_stage(), self._floor_point()[None])[0]

    def _keep_on_ground(self) -> None:
        """At life size, after the surface below may have changed (another epoch, a
        calibration): stand on this epoch's surface where the user is — the first surface
        below a step's height above the feet — or, with nothing below, at the start point."""
        if self.mode != Mode.LIFE_SIZE or not self._placed:
            return
        surface = self.surface()
        self._ground_pending = surface is None   # still being built: done when it is ready
        if surface is None:
            return
        feet = self._site_under_feet()
        top = feet[2] + self.comfort.step_height
        hit = surface.cast(np.array([[feet[0], feet[1], top],
                                     [feet[0], feet[1], surface.lo[2] - 1.0]]))
        ground = hit.point if hit is not None and hit.walkable else self.start_point()
        self.rig = Rig(1.0, self.rig.yaw, np.asarray(ground, np.float64), self._floor_point())

    def _recenter(self) -> None:
        """Re-align where the user stands: at life size, the ground under the head stays under
        it (re-dropped onto the surface); the miniature comes back in front of the head."""
        if self.mode == Mode.LIFE_SIZE:
            self._keep_on_ground()
        else:
            self._place(Mode.MINIATURE)

    def go_to(self, epoch: int, heatmap: bool, compare: int, miniature: bool,
              site_point: Sequence[float], bearing: float) -> None:
        """Fade to a story stop's place (`viewer.vr.story.StopPlace`'s fields): its epoch and
        heatmap pair; at life size standing at `site_point` looking along `bearing` (radians
        clockwise from north), else the miniature seen from that side."""
        def apply() -> None:
            self.epoch_index = int(epoch)
            self.heatmap = bool(heatmap)
            if self.compare_with[self.epoch_index]:
                self.compare_choice[self.epoch_index] = int(compare)
            heading = forward_yaw(self._head.orientation) + bearing
            if miniature:
                self._place(Mode.MINIATURE)
                self.rig = Rig(self.rig.scale, heading, self.rig.site_anchor,
                               self.rig.stage_anchor)
            else:
                self.mode = Mode.LIFE_SIZE
                self.rig = Rig(1.0, heading, np.asarray(site_point, np.float64),
                               self._floor_point())
        self._start("story", apply)

    def _toggle_scale(self) -> None:
        if self.mode == Mode.LIFE_SIZE:
            self._life_rig = self.rig.copy()
            self._place(Mode.MINIATURE)
        elif self._life_rig is not None:
            self.mode, self.rig = Mode.LIFE_SIZE, self._life_rig
        else:
            self._place(Mode.LIFE_SIZE)

    # ----------------------------------------------------------------- placement

    def _floor_point(self) -> np.ndarray:
        p = self._head.position
        return np.array([p[0], self.ground_y, p[2]], np.float64)

    def _site_centre(self) -> np.ndarray:
        return np.array([(self.lo[0] + self.hi[0]) / 2, (self.lo[1] + self.hi[1]) / 2,
                         self.lo[2]])

    def start_point(self) -> np.ndarray:
        """Where a visit starts at life size: on walkable ground near the south edge, middle
        of the site (looking north, the site is in front)."""
        surface = self.surface()
        cx = (self.lo[0] + self.hi[0]) / 2
        for f in (0.05, 0.1, 0.2, 0.3, 0.5) if surface is not None else ():
            y = self.lo[1] + f * (self.hi[1] - self.lo[1])
            hit = surface.drop(cx, y)
            if hit is not None and hit.walkable:
                return hit.point
        return np.array([cx, self.lo[1], self.lo[2]])

    def _place(self, mode: Mode) -> None:
        """Put the site where `mode` wants it, facing the way the head looks."""
        self.mode = Mode(mode)
        heading = forward_yaw(self._head.orientation)
        if self.mode == Mode.LIFE_SIZE:
            self.rig = Rig(1.0, heading, self.start_point(), self._floor_point())
            return
        c = self.comfort
        ext = max(float(self.hi[0] - self.lo[0]), float(self.hi[1] - self.lo[1]), 1e-3)
        head = np.asarray(self._head.position, np.float64)
        ahead = np.array([-math.sin(heading), 0.0, -math.cos(heading)])
        table = head + ahead * c.table_distance
        table[1] = float(np.clip(head[1] - c.table_drop, self.floor_y + 0.6,
                                 self.floor_y + 1.3))
        self.rig = Rig(c.table_size / ext, heading, self._site_centre(), table)
