"""Transient points (people walking by, cars that drove off) found by visibility between scans.

A scan is one station of a terrestrial scanner or one strip of an airborne flight.  When scan
``i`` looked through the place where scan ``j`` has a point — its beam in that direction went on
and hit something well beyond — the thing scan ``j`` saw was not there any more (or not yet)
while ``i`` scanned: the point is a *ghost* of a transient object.  Static surfaces are seen by
every scan that looks at them, or hidden from it; they are never seen through.

Two sensor models:

- ``station`` (terrestrial, or any scan with a known sensor position): scan ``i``'s points form
  a range image around its position (azimuth × elevation bins); a point of another scan is seen
  through when, in its direction from ``i``, even the *closest* return of ``i`` in the 3 × 3
  neighbouring bins lies beyond it by more than ``margin`` (a conservative test: any return of
  ``i`` near the point, in front of it or on it, keeps it).
- ``vertical`` (airborne strips, seen from far above): scan ``i``'s first returns form a height
  grid (the highest return per cell); a point of another strip is seen through when the highest
  first return of ``i`` in the 3 × 3 neighbouring cells lies more than ``margin`` below it.

A point is only judged where scan ``i`` has returns around it; where no other scan looked,
nothing is removed (a transient seen by one scan only stays — see docs/PRIVACY.md).  The lowest
points of a transient object (feet, tyres) lie within the margin of the ground behind them, so
they cannot be told apart by range; they go with the object: every point of the same scan in
the vertical columns of the ghost points (``column`` metres wide, one column around them too),
from the ghost's top down to ``depth`` metres below it, is removed as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

BIN_STEPS = 1.0  # range-image bin, in angular steps of the scan
MIN_COLUMN = 0.3  # m: a ghost column must rise this far above its lowest point
STATION, VERTICAL, BLIND = "station", "vertical", "blind"  # blind: judged, cannot judge


@dataclass
class Scan:
    """One station or strip in the site frame.  ``sensor``: the station's position (``station``
    model); ``first``: mask of first returns (``vertical`` model; None = all)."""

    xyz: np.ndarray
    model: str
    sensor: np.ndarray | None = None
    first: np.ndarray | None = None


@dataclass(frozen=True)
class GhostParams:
    margin: float = 0.3          # m beyond (station) or below (vertical) the point
    margin_per_m: float = 0.01   # range-proportional part of the margin (station)
    column: float = 0.25         # m: cell of the ghost columns (see module doc)
    depth: float = 3.0           # m: how far below a ghost point its column reaches
    min_returns: int = 2         # returns of the seeing scan needed around a point
    window: int = 3              # station: bins around a point whose returns count
    vertical_window: int = 3     # vertical: cells around a point whose returns count


# --- station model ---------------------------------------------------------------------------


def _second_lowest(values: np.ndarray, cells: np.ndarray, n: int) -> np.ndarray:
    """Per cell, the second-lowest value (the lowest if the cell holds one; inf if none): a
    single stray echo (a bird, dust, multipath) must not decide what a scan saw there."""
    lowest = np.full(n, np.inf)
    np.minimum.at(lowest, cells, values)
    order = np.lexsort((values, cells))                # by cell, then value
    first = np.ones(len(order), bool)
    first[1:] = cells[order][1:] != cells[order][:-1]
    rest = order[~first]                                # all but each cell's lowest
    second = np.full(n, np.inf)
    np.minimum.at(second, cells[rest], values[rest])
    single = np.bincount(cells, minlength=n) == 1
    return np.where(single, lowest, second)


def _angles(xyz: np.ndarray, sensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = xyz - sensor
    r = np.linalg.norm(d, axis=1)
    az = np.arctan2(d[:, 1], d[:, 0])
    el = np.arcsin(np.clip(d[:, 2] / np.maximum(r, 1e-9), -1.0, 1.0))
    return az, el, r


def _angular_step(az: np.ndarray, el: np.ndarray, sample: int = 20000) -> float:
    """Median angular distance between neighbouring returns (radians)."""
    idx = np.linspace(0, len(az) - 1, min(sample, len(az))).astype(np.int64)
    u = np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    d, _ = cKDTree(u).query(u[idx], k=2)
    return float(np.median(d[:, 1]))


class _RangeImage:
    """Closest return per (azimuth, elevation) bin of one station, and returns per bin."""

    def __init__(self, scan: Scan, window: int):
        az, el, r = _angles(scan.xyz, scan.sensor)
        self.step = max(np.radians(0.05), BIN_STEPS * _angular_step(az, el))
        self.n_az = int(np.ceil(2 * np.pi / self.step))
        self.n_el = int(np.ceil(np.pi / self.step)) + 1
        ia, ie = self._bins(az, el)
        flat = ia * self.n_el + ie
        closest = _second_lowest(r, flat, self.n_az * self.n_el).reshape(self.n_az, self.n_el)
        # A bin without a return where the scanner swept (its azimuth has returns, its elevation
        # lies within the scan's) saw nothing within range: it counts as infinitely far.
        swept = np.zeros(self.n_az, bool)
        swept[ia] = True
        # bins a little finer than the scan's steps leave some azimuths without a return
        swept = ndimage.maximum_filter1d(swept, size=3, mode="wrap")
        lo_el, hi_el = ie.min(), ie.max()
        observed = swept[:, None] & (np.arange(self.n_el) >= lo_el)[None] \
            & (np.arange(self.n_el) <= hi_el)[None]
        # the window around each bin, wrapping around in azimuth
        self.closest = ndimage.minimum_filter(closest, size=window, mode=("wrap", "nearest"))
        self.observed = ndimage.minimum_filter(observed.astype(np.uint8), size=window,
                                               mode=("wrap", "nearest")).astype(bool)
        self.sensor = scan.sensor
        # farther than the scanner reaches, an empty direction says nothing
        self.reach = float(np.percentile(r, 99.9)) if len(r) else 0.0

    def _bins(self, az: np.ndarray, el: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ia = np.floor((az + np.pi) / self.step).astype(np.int64) % self.n_az
        ie = np.clip(np.floor((el + np.pi / 2) / self.step).astype(np.int64), 0, self.n_el - 1)
        return ia, ie

    def seen_through(self, xyz: np.ndarray, p: GhostParams) -> np.ndarray:
        az, el, r = _angles(xyz, self.sensor)
        ia, ie = self._bins(az, el)
        margin = p.margin + p.margin_per_m * r
        return self.observed[ia, ie] & (r + margin < self.reach) \
            & (self.closest[ia, ie] > r + margin)


# --- vertical model --------------------------------------------------------------------------


class _HeightGrid:
    """Highest first return per cell of one strip (the second highest: one stray echo does not
    count), over a 3 × 3 neighbourhood, and returns per cell."""

    def __init__(self, scan: Scan, lo: np.ndarray, hi: np.ndarray, window: int):
        xyz = scan.xyz if scan.first is None else scan.xyz[scan.first]
        area = max(float(np.prod(xyz[:, :2].max(axis=0) - xyz[:, :2].min(axis=0))), 1.0) \
            if len(xyz) else 1.0
        density = len(xyz) / area
        self.cell = float(np.clip(1.5 / np.sqrt(max(density, 1e-6)), 0.25, 5.0))
        self.lo = lo
        self.shape = tuple(np.maximum(np.ceil((hi - lo) / self.cell).astype(np.int64), 1) + 1)
        ix, iy, ok = self._cells(xyz)
        flat = ix[ok] * self.shape[1] + iy[ok]
        top = -_second_lowest(-xyz[ok, 2], flat, self.shape[0] * self.shape[1])
        count = np.bincount(flat, minlength=len(top)).reshape(self.shape)
        self.top = ndimage.maximum_filter(top.reshape(self.shape), size=window, mode="nearest")
        self.count = ndimage.uniform_filter(count.astype(np.float64), size=window,
                                            mode="nearest") * window ** 2

    def _cells(self, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ij = np.floor((xyz[:, :2] - self.lo) / self.cell).astype(np.int64)
        ok = (ij >= 0).all(axis=1) & (ij[:, 0] < self.shape[0]) & (ij[:, 1] < self.shape[1])
        return np.where(ok, ij[:, 0], 0), np.where(ok, ij[:, 1], 0), ok

    def seen_through(self, xyz: np.ndarray, p: GhostParams) -> np.ndarray:
        ix, iy, ok = self._cells(xyz)
        enough = ok & (self.count[ix, iy] >= p.min_returns)
        return enough & (self.top[ix, iy] < xyz[:, 2] - p.margin)


# --- all scans -------------------------------------------------------------------------------


def ghost_masks(scans: list[Scan], params: GhostParams | None = None) -> list[np.ndarray]:
    """Per scan, a boolean mask of its ghost points (True = remove)."""
    p = params or GhostParams()
    if sum(s.model != BLIND for s in scans) < 1 or len(scans) < 2:
        return [np.zeros(len(s.xyz), bool) for s in scans]
    allxyz = np.concatenate([s.xyz for s in scans])
    lo, hi = allxyz[:, :2].min(axis=0), allxyz[:, :2].max(axis=0)
    views = [_RangeImage(s, p.window) if s.model == STATION else
             _HeightGrid(s, lo, hi, p.vertical_window) if s.model == VERTICAL else None
             for s in scans]
    masks = []
    for j, s in enumerate(scans):
        through = np.zeros(len(s.xyz), bool)
        for i, view in enumerate(views):
            if i != j and view is not None and len(s.xyz):
                through |= view.seen_through(s.xyz, p)
        masks.append(_columns(s.xyz, through, p.column, p.depth))
    return masks


def _columns(xyz: np.ndarray, ghost: np.ndarray, cell: float, depth: float) -> np.ndarray:
    """``ghost`` plus every point in the ghosts' vertical columns (3 x 3 cells of ``cell``
    around each ghost point), from the column's highest ghost down to ``depth`` below it."""
    if cell <= 0 or not ghost.any():
        return ghost
    ij = np.floor(xyz[:, :2] / cell).astype(np.int64)
    g = ij[ghost]
    gz = xyz[ghost, 2]
    offsets = np.array([(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)])
    cols = (g[:, None, :] + offsets[None]).reshape(-1, 2)
    tops = np.repeat(gz, len(offsets))
    # one top per column: the highest ghost point over it
    keys, inverse = np.unique(cols, axis=0, return_inverse=True)
    top = np.full(len(keys), -np.inf)
    np.maximum.at(top, inverse.reshape(-1), tops)
    # look every point's own cell up among the ghost columns
    kview = keys[:, 0] * (1 << 32) + keys[:, 1]       # one int per cell (|index| < 2**31)
    order = np.argsort(kview)
    kview, top = kview[order], top[order]
    pview = ij[:, 0] * (1 << 32) + ij[:, 1]
    pos = np.clip(np.searchsorted(kview, pview), 0, len(kview) - 1)
    hit = kview[pos] == pview
    # only columns that stand up from something: a ghost on the ground (a false one, most
    # likely) must not take the ground around it along
    bottom = np.full(len(kview), np.inf)
    np.minimum.at(bottom, pos[hit], xyz[hit, 2])
    tall = (top - bottom) >= MIN_COLUMN
    hit &= tall[pos]
    t = np.where(hit, top[pos], -np.inf)
    return ghost | (hit & (xyz[:, 2] <= t + 0.05) & (xyz[:, 2] >= t - depth))


__all__ = ["BLIND", "GhostParams", "STATION", "Scan", "VERTICAL", "ghost_masks"]
