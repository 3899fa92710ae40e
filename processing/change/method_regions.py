"""Regions and volume totals per method, as `processing.compare` reports them.

One function per method turns its result into regions with a sign that is right by
construction and a volume where one is defined; ``totals`` sums the reported regions, so the
headline figures always equal the list below them.

- DoD: grid regions (significant cells grown over the cells an edge covers in part); volume
  = sum of dz x cell area, with its 95 % uncertainty.
- M3C2: regions of significant core points linked in plan, each with at least one clear core
  (change larger than the points' spread in its cylinders); volume = sum of distance x plan
  area of each core on a surface facing up (|n_z| >= 0.5; a core on a wall stands for no
  plan area), uncertainty from each core's random LoD part and the registration error.
- C2C: a distance to the nearest point has no sign and is not a height, so regions take the
  points that moved *up*: compared points above the reference (added) and reference points
  above the compared epoch (removed), in both directions; no volume.
- C2M: the signed distance to the reference mesh; no volume.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from processing.change.c2c import C2CResult, c2c
from processing.change.c2m import c2m
from processing.change.dod import DoDResult, Mesh, dod
from processing.change.m3c2 import M3C2Result
from processing.change.params import DoDParams
from processing.change.regions import RegionsResult, grid_regions, point_regions

# A cell/point of change must point at least this much up to get a sign (C2C: vertical
# component >= this share of the distance, i.e. >= 30 degrees from horizontal).
C2C_VERTICAL_SHARE = 0.5
# C2C: a point is changed only beyond this many local spacings of the other epoch.
SPACING_FACTOR = 3.0
# M3C2 cores on surfaces steeper than 60 degrees (walls) stand for no plan area.
M3C2_MIN_NZ = 0.5

DOD_VOLUME_METHOD = (
    "sum of dz x cell area over the region's cells; dz from 'surface' DEMs (each cell the mean "
    "height of the surface over it, sampled from the nearest points in plan), regions grown "
    "from significant cells over the cells an edge covers in part; uncertainty 95 %: cells' "
    "standard errors in quadrature plus the registration error x area")
M3C2_VOLUME_METHOD = (
    "sum over the region's core points on surfaces facing up (|n_z| >= 0.5) of distance x "
    "core_spacing² (cores stacked in one plan cell share it); uncertainty 95 %: "
    "1.96 (sqrt(sum (A sqrt(std1²/n1 + std2²/n2))²) + registration_error x sum A). The "
    "distance is along the normal and the cylinder averages over its radius, so edges of "
    "objects are smoothed: use a DoD where volumes matter")
NO_VOLUME = ("none: a distance to the nearest point or surface is not a height over an area; "
             "use a DoD (or M3C2) for volumes")


def dod_regions(reference: np.ndarray, compared: np.ndarray, *, cell_size: float,
                registration_error: float = 0.0, min_area: float = 0.0,
                min_volume: float = 0.0, reference_mesh: Mesh | None = None,
                compared_mesh: Mesh | None = None,
                from_ground: tuple[bool, bool] = (False, False)
                ) -> tuple[DoDResult, RegionsResult]:
    """DoD on 'surface' DEMs (from the mesh of an epoch delivered as one) and its grid
    regions."""
    res = dod(reference, compared, DoDParams(cell_size=cell_size,
                                             registration_error=registration_error),
              reference_mesh=reference_mesh, compared_mesh=compared_mesh,
              from_ground=from_ground)
    return res, grid_regions(res, min_area=min_area, min_volume=min_volume)


def m3c2_regions(res: M3C2Result, *, core_spacing: float, min_area: float = 0.0,
                 min_volume: float = 0.0) -> RegionsResult:
    """Regions of significant M3C2 cores, linked in plan within two core spacings."""
    nz = np.abs(np.nan_to_num(res.normals[:, 2]))
    d = res.distance
    with np.errstate(invalid="ignore"):
        up = (nz >= M3C2_MIN_NZ) & res.significant
        sign = np.where(d > 0, 1, -1)
    # Each plan cell of the core spacing counts once per sign: cores stacked in one column
    # (a roof edge over the top of a wall) share its area.
    ij = np.floor((res.core_points[:, :2] - res.core_points[:, :2].min(axis=0))
                  / core_spacing).astype(np.int64)
    key = (ij[:, 0] * (int(ij[:, 1].max()) + 1) + ij[:, 1]) * 2 + (sign > 0)
    _, inv, cnt = np.unique(key[up], return_inverse=True, return_counts=True)
    weights = np.zeros(d.size)
    weights[up] = core_spacing * core_spacing / cnt[inv]
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(res.std1 ** 2 / res.n1 + res.std2 ** 2 / res.n2)
    # A region needs one clear core: a change larger than the spread of single points in
    # both cylinders.  Cylinders that straddle two surfaces (the foot or top of a wall) have
    # a large spread, and a few more points of one surface in one epoch shift their mean by
    # more than the LoD, which assumes one surface with Gaussian noise.
    with np.errstate(invalid="ignore"):
        clear = res.significant & (np.abs(d) > 1.96 * np.fmax(res.std1, res.std2))
    return point_regions(res.core_points, res.distance, res.significant,
                         link_distance=2.0 * core_spacing, footprint_cell=core_spacing,
                         min_area=min_area, min_volume=min_volume, planar=True,
                         weights=weights, sigma=sigma,
                         registration_error=res.params.registration_error, seeds=clear)


def upward(res: C2CResult, points: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``points`` whose nearest neighbour in ``other`` lies below them, mostly vertically."""
    d = res.distance
    ok = np.isfinite(d) & (res.nearest >= 0)
    up = np.zeros(d.size, dtype=bool)
    dzv = points[ok, 2] - other[res.nearest[ok], 2]
    up[ok] = (dzv > 0) & (dzv >= C2C_VERTICAL_SHARE * d[ok])
    return up


def spacing_at(points: np.ndarray) -> np.ndarray:
    """Each point's distance to its nearest other point in the same cloud."""
    from pykdtree.kdtree import KDTree

    c = np.ascontiguousarray(points - points.min(axis=0), dtype=np.float32)
    d, _ = KDTree(c, leafsize=16).query(c, k=2)
    return d[:, 1].astype(np.float64)


def _far(res: C2CResult, other: np.ndarray, threshold: float) -> np.ndarray:
    """Points farther than ``threshold`` from ``other`` and farther than SPACING_FACTOR times
    the spacing of ``other`` where they met it: two samplings of one surface lie about a
    spacing apart (sparse wall points more), which is not change."""
    d = np.nan_to_num(res.distance, nan=np.inf)
    local = np.zeros(d.size)
    hit = res.nearest >= 0
    local[hit] = spacing_at(other)[res.nearest[hit]]
    return (d >= threshold) & (d >= SPACING_FACTOR * local)


def signed_c2c(res: C2CResult, reference: np.ndarray, compared: np.ndarray) -> np.ndarray:
    """C2C distances of ``compared`` points with the sign of their vertical offset to the
    nearest reference point (above: +, below: -): the per-vertex values the viewer shows."""
    d = res.distance.astype(np.float64)
    ok = np.isfinite(d) & (res.nearest >= 0)
    sign = np.ones_like(d)
    sign[ok] = np.where(compared[ok, 2] >= reference[res.nearest[ok], 2], 1.0, -1.0)
    return d * sign


def c2c_regions(reference: np.ndarray, compared: np.ndarray, *, threshold: float,
                max_distance: float | None, link_distance: float, min_area: float = 0.0
                ) -> tuple[C2CResult, np.ndarray, RegionsResult, dict[str, Any]]:
    """C2C both ways.  Added: compared points farther than ``threshold`` (and 3 local
    spacings) from the reference and above it; removed: reference points as far from the
    compared epoch and above it (material that was there).  Points that moved sideways get no sign
    and no region (counted).  Returns (compared->reference result, signed values of the
    compared points, regions, counts)."""
    fwd = c2c(compared, reference, max_distance=max_distance)
    back = c2c(reference, compared, max_distance=max_distance)
    values = signed_c2c(fwd, reference, compared)
    far_f = _far(fwd, reference, threshold)
    far_b = _far(back, compared, threshold)
    added = far_f & upward(fwd, compared, reference)
    removed = far_b & upward(back, reference, compared)
    pts = np.concatenate([compared[added], reference[removed]])
    vals = np.concatenate([np.nan_to_num(fwd.distance[added], nan=threshold),
                           -np.nan_to_num(back.distance[removed], nan=threshold)])
    regions = point_regions(pts, vals, link_distance=link_distance, min_area=min_area,
                            planar=True, volumes=False)
    counts = {"added_points": int(added.sum()), "removed_points": int(removed.sum()),
              "sideways_points": int((far_f & ~added).sum() + (far_b & ~removed).sum())}
    return fwd, values, regions, counts


def c2m_regions(compared: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                threshold: float, max_distance: float | None, link_distance: float,
                min_area: float = 0.0) -> tuple[Any, RegionsResult]:
    """Signed C2M distances of the compared points to the reference mesh and their regions
    (|distance| >= ``threshold``), without volumes."""
    res = c2m(compared, vertices, faces, max_distance=max_distance)
    sig = np.abs(np.nan_to_num(res.distance)) >= threshold
    return res, point_regions(compared, res.distance, sig, link_distance=link_distance,
                              min_area=min_area, planar=True, volumes=False)


def totals(regions: RegionsResult, method: str) -> dict[str, Any] | None:
    """Gained / lost / net volume (m³, lost as a magnitude) and their 95 % uncertainty summed
    over the reported regions (uncertainties added linearly: the registration part is shared
    by all regions); None for methods without volumes."""
    if method in ("c2c", "c2m"):
        return None
    out: dict[str, Any] = {}
    for key, sign in (("gained", "added"), ("lost", "removed")):
        rs = [r for r in regions.regions if r.sign == sign]
        out[key] = float(abs(sum(r.volume for r in rs)))
        out[f"{key}_uncertainty95"] = float(sum(r.volume_uncertainty or 0.0 for r in rs))
        out[f"{key}_regions"] = len(rs)
    out["net"] = out["gained"] - out["lost"]
    out["net_uncertainty95"] = out["gained_uncertainty95"] + out["lost_uncertainty95"]
    out["source"] = "sum of the reported regions"
    return out
