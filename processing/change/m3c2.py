"""M3C2: Multiscale Model to Model Cloud Comparison (Lague, Brodu & Leroux 2013).

For each core point: a normal from the PCA of the reference points within ``normal_radius``;
a cylinder of radius ``cylinder_radius`` along it, reaching ``max_depth`` to either side; in
each epoch the signed projections t = (p - core) . n of the points inside; the distance is
mean(t2) - mean(t1) (or the medians) and the level of detection

    LoD95 = 1.96 * (sqrt(std1**2 / n1 + std2**2 / n2) + registration_error)

with population standard deviations, as PDAL ``filters.m3c2`` and CloudCompare compute them.

The cylinder search is vectorised: the cylinder is cut into ``ceil(max_depth /
cylinder_radius)`` slabs; each slab's circumscribing ball (radius <= sqrt(2) r) is one bounded
kNN query on a pykdtree, re-asked with a larger k where the k-th neighbour is still inside;
slabs whose ball cannot hold a point (a dilated occupancy grid says so) are never queried.
Each point is assigned to the one slab its projection falls in, so nothing is counted twice.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from processing.change._common import (
    DENSE_K,
    F32_PAD,
    Searcher,
    as_points,
    padded,
    spatial_order,
)
from processing.change.normals import ball_neighbours, pca_flat
from processing.change.params import M3C2Params
from processing.change.summary import histogram, statistics
from processing.errors import ProcessingError

# Core points per task: bounds the slab queries held at once and feeds two threads.
CORE_BLOCK = 1 << 16
# Distances at or below this (m) are never significant.
NUMERICAL_ZERO = 1e-9
# Largest dense occupancy grid (cells, one byte each).
MAX_GRID_CELLS = 1 << 26


@dataclass
class M3C2Result:
    """Per core point: ``distance`` (m, along the normal, compared minus reference; NaN where
    a normal or a cylinder is missing), ``lod`` (LoD95, m; PDAL's ``m3c2_uncertainty``),
    ``significant`` (|distance| > lod), ``n1``/``n2`` (points in the cylinder per epoch),
    ``std1``/``std2`` (population std of the projections, m), ``normals`` (unit, oriented) and
    ``normal_count`` (reference points used for the normal)."""

    core_points: np.ndarray
    normals: np.ndarray
    distance: np.ndarray
    lod: np.ndarray
    significant: np.ndarray
    n1: np.ndarray
    n2: np.ndarray
    std1: np.ndarray
    std2: np.ndarray
    normal_count: np.ndarray
    params: M3C2Params

    def to_summary(self, bins: int = 41) -> dict[str, Any]:
        ok = np.isfinite(self.distance)
        return {
            "method": "m3c2",
            "parameters": self.params.to_dict(),
            "core_points": int(self.distance.size),
            "without_normal": int(np.isnan(self.normals[:, 0]).sum()),
            "without_value": int((~ok).sum()),
            "statistics": statistics(self.distance, self.significant),
            "histogram": histogram(self.distance, bins=bins),
            "lod": statistics(self.lod),
            "points_per_cylinder": {"reference_median": float(np.median(self.n1[ok]))
                                    if ok.any() else None,
                                    "compared_median": float(np.median(self.n2[ok]))
                                    if ok.any() else None},
        }


def subsample_cores(points: np.ndarray, spacing: float) -> np.ndarray:
    """Indices (ascending) of one point per cubic cell of edge ``spacing``: the point nearest
    the cell centre, so core points keep real coordinates and an even density."""
    pts = as_points(points, "points to subsample")
    if not np.isfinite(spacing) or spacing <= 0:
        raise ProcessingError(f"core point spacing must be a finite number > 0 (m), got "
                              f"{spacing!r}")
    lo = pts.min(axis=0)
    f = (pts - lo) / spacing
    ijk = np.floor(f).astype(np.int64)
    d2 = ((f - ijk - 0.5) ** 2).sum(axis=1)
    dims = ijk.max(axis=0) + 1
    if float(np.prod(dims.astype(np.float64))) < 2.0**62:
        key = (ijk[:, 0] * dims[1] + ijk[:, 1]) * dims[2] + ijk[:, 2]
        order = np.lexsort((d2, key))
        ks = key[order]
        first = np.ones(ks.size, dtype=bool)
        first[1:] = ks[1:] != ks[:-1]
    else:
        order = np.lexsort((d2, ijk[:, 2], ijk[:, 1], ijk[:, 0]))
        s = ijk[order]
        first = np.ones(s.shape[0], dtype=bool)
        first[1:] = (s[1:] != s[:-1]).any(axis=1)
    return np.sort(order[first])


class _Occupancy:
    """Dense boolean grid of cells holding points, dilated by one cell: a query ball of radius
    <= cell centred in an unmarked cell cannot contain a point."""

    def __init__(self, points: np.ndarray, cell: float):
        span = points.max(axis=0) - points.min(axis=0) + 2.0 * cell
        cells = float(np.prod(np.ceil(span / cell) + 1))
        if cells > MAX_GRID_CELLS:
            cell *= (cells / MAX_GRID_CELLS) ** (1.0 / 3.0) * 1.01
        self.cell = cell
        self.lo = points.min(axis=0) - cell
        ijk = np.floor((points - self.lo) / cell).astype(np.int64)
        self.dims = ijk.max(axis=0) + 2
        g = np.zeros(tuple(self.dims), dtype=bool)
        g[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = True
        for ax in range(3):  # separable 3x3x3 dilation
            d = g.copy()
            lead = [slice(None)] * 3
            trail = [slice(None)] * 3
            lead[ax], trail[ax] = slice(1, None), slice(None, -1)
            d[tuple(lead)] |= g[tuple(trail)]
            d[tuple(trail)] |= g[tuple(lead)]
            g = d
        self.grid = g

    def maybe_near(self, q: np.ndarray) -> np.ndarray:
        ijk = np.floor((q - self.lo) / self.cell).astype(np.int64)
        inside = ((ijk >= 0) & (ijk < self.dims)).all(axis=1)
        out = np.zeros(q.shape[0], dtype=bool)
        i = ijk[inside]
        out[inside] = self.grid[i[:, 0], i[:, 1], i[:, 2]]
        return out


@dataclass
class _Epoch:
    """An epoch's centred points as gather tables (see ``padded``) and its tree; ``points``
    is a view into one of the tables, so nothing is held twice."""

    points: np.ndarray
    search: Searcher
    padded: np.ndarray  # (n + 1, 3): gather table, the last row a zero pad
    occupancy: _Occupancy | None = None


def _make_epoch(pts: np.ndarray, origin: np.ndarray) -> _Epoch:
    table = padded(pts, origin=origin)
    view = table[:-1]
    return _Epoch(points=view, search=Searcher(view), padded=table)


@dataclass(frozen=True)
class _Slabs:
    """Pieces of the cylinder's axis range searched by one ball query each: per slab the
    bounds of t, whether they are open/closed, its centre, and the (padded) ball radius
    that holds any slab (all slabs have half-length <= the cylinder radius)."""

    lo: np.ndarray
    hi: np.ndarray
    lo_open: np.ndarray
    hi_closed: np.ndarray
    centre: np.ndarray
    ball: float

    @property
    def count(self) -> int:
        return int(self.lo.size)


def _slabs(intervals: list[tuple[float, float, bool, bool]], r: float, pad: float) -> _Slabs:
    """Cut each (lo, hi, lo_open, hi_closed) interval into slabs of half-length <= r;
    inside an interval the slabs are [a, b), so every t belongs to exactly one slab."""
    lo, hi, lo_open, hi_closed = [], [], [], []
    half_max = 0.0
    for a, b, a_open, b_closed in intervals:
        k = max(1, math.ceil((b - a) / (2.0 * r) - 1e-9))
        edges = a + (b - a) * np.arange(k + 1) / k
        edges[0], edges[-1] = a, b
        lo.extend(edges[:-1])
        hi.extend(edges[1:])
        lo_open.extend([a_open] + [False] * (k - 1))
        hi_closed.extend([False] * (k - 1) + [b_closed])
        half_max = max(half_max, (b - a) / (2.0 * k))
    lo_a, hi_a = np.array(lo), np.array(hi)
    return _Slabs(lo=lo_a, hi=hi_a, lo_open=np.array(lo_open), hi_closed=np.array(hi_closed),
                  centre=(lo_a + hi_a) / 2.0, ball=math.hypot(r, half_max) + pad)


def _slab_pairs(ep: _Epoch, cores: np.ndarray, normals: np.ndarray, slabs: _Slabs, r: float,
                k0: int) -> tuple[np.ndarray, np.ndarray]:
    """(core row, projection) of every point of ``ep`` in the slabs of each core's cylinder;
    ``cores`` and ``normals`` hold only rows with a valid normal."""
    m = cores.shape[0]
    ns = slabs.count
    rows_core = np.repeat(np.arange(m), ns)
    rows_seg = np.tile(np.arange(ns), m)
    q = cores[rows_core] + slabs.centre[rows_seg, None] * normals[rows_core]
    if ns > 1:
        keep = ep.occupancy.maybe_near(q)
        rows_core, rows_seg, q = rows_core[keep], rows_seg[keep], q[keep]
    ids: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    ts: list[np.ndarray] = [np.zeros(0)]
    r2 = r * r
    for rows, qi, pid in ep.search.pairs(q, slabs.ball, k0):
        row = rows[qi]
        core = rows_core[row]
        seg = rows_seg[row]
        rel = np.take(ep.padded, pid, axis=0)
        rel -= np.take(cores, core, axis=0)
        t = np.einsum("ij,ij->i", rel, np.take(normals, core, axis=0))
        lat2 = np.einsum("ij,ij->i", rel, rel) - t * t
        lo, hi = slabs.lo[seg], slabs.hi[seg]
        above = np.where(slabs.lo_open[seg], t > lo, t >= lo)
        below = np.where(slabs.hi_closed[seg], t <= hi, t < hi)
        ok = (lat2 <= r2) & above & below
        ids.append(core[ok])
        ts.append(t[ok])
    return np.concatenate(ids), np.concatenate(ts)


def _stats(core_id: np.ndarray, t: np.ndarray, m: int, statistic: str
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per core: count, mean (or median) and population std of its projections."""
    count = np.bincount(core_id, minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(core_id, weights=t, minlength=m) / count
        dev = t - mean[core_id]
        std = np.sqrt(np.bincount(core_id, weights=dev * dev, minlength=m) / count)
    if statistic != "median":
        return count, mean, std
    order = np.lexsort((t, core_id))
    tsorted = t[order]
    start = np.cumsum(count) - count
    has = count > 0
    median = np.full(m, np.nan)
    median[has] = (tsorted[(start + (count - 1) // 2)[has]]
                   + tsorted[(start + count // 2)[has]]) / 2.0
    return count, median, std


def _normals_and_pairs(ep: _Epoch, cores: np.ndarray, viewpoint: np.ndarray | None,
                       p: M3C2Params, pad: float, depth: float, k0: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Oriented normals and counts at ``cores`` from ``ep``, and the (core, t) pairs of the
    part |t| <= ``depth`` of each cylinder, which lies inside the normal ball (its points are
    among the neighbours): that part needs no second search.  ``depth`` < 0: no pairs."""
    m = cores.shape[0]
    normals = np.full((m, 3), np.nan)
    counts = np.zeros(m, dtype=np.int64)
    ids: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    ts: list[np.ndarray] = [np.zeros(0)]
    radius = p.normal_radius
    r2 = p.cylinder_radius**2
    for rows, qi, pid in ep.search.pairs(cores, radius + pad, k0):
        at = cores[rows]
        row, _, rel, d2 = ball_neighbours(ep.padded, qi, pid, at, radius)
        nrm, cnt = pca_flat(rel, row, rows.size, p.min_normal_points)
        if viewpoint is None:
            nrm[nrm[:, 2] < 0] *= -1.0
        else:
            nrm[np.einsum("ij,ij->i", nrm, viewpoint - at) < 0] *= -1.0
        normals[rows], counts[rows] = nrm, cnt
        if depth >= 0:
            t = np.einsum("ij,ij->i", rel, np.take(nrm, row, axis=0))
            with np.errstate(invalid="ignore"):  # NaN normals: no point
                ok = (d2 - t * t <= r2) & (np.abs(t) <= depth)
            ids.append(rows[row[ok]])
            ts.append(t[ok])
    return normals, counts, np.concatenate(ids), np.concatenate(ts)


def m3c2(reference: np.ndarray, compared: np.ndarray, params: M3C2Params,
         cores: np.ndarray | float | None = None, normals: np.ndarray | None = None
         ) -> M3C2Result:
    """M3C2 distances from ``reference`` (epoch 1) to ``compared`` (epoch 2).

    cores: None (every reference point), a spacing in metres (``subsample_cores`` of the
        reference), or an (M, 3) array.
    normals: optional (M, 3) normals to use instead of estimating them (they are normalised and
        used as given, not re-oriented); NaN rows give no value.
    """
    if not isinstance(params, M3C2Params):
        raise ProcessingError(f"params must be M3C2Params, got {type(params).__name__}")
    p1 = as_points(reference, "reference epoch")
    p2 = as_points(compared, "compared epoch")
    if cores is None:
        core = p1
    elif np.isscalar(cores):
        core = p1[subsample_cores(p1, float(cores))]
    else:
        core = as_points(cores, "core points")
    # Bounding boxes once: min/max over 10M-point arrays are not free.
    lo1, hi1 = p1.min(axis=0), p1.max(axis=0)
    lo2, hi2 = p2.min(axis=0), p2.max(axis=0)
    loc, hic = (lo1, hi1) if core is p1 else (core.min(axis=0), core.max(axis=0))
    diag = float(np.linalg.norm(hi1 - lo1))
    if params.normal_radius > diag > 0:
        raise ProcessingError(
            f"normal_radius {params.normal_radius:g} m is larger than the reference epoch's "
            f"extent ({diag:.3g} m diagonal): every normal would fit the whole epoch. Use a "
            "radius of a few point spacings (CloudCompare's normal scale is a diameter: halve "
            "it)")
    if params.cylinder_radius > diag > 0:
        raise ProcessingError(
            f"cylinder_radius {params.cylinder_radius:g} m is larger than the reference "
            f"epoch's extent ({diag:.3g} m diagonal). Use a radius of a few point spacings "
            "(CloudCompare's projection scale is a diameter: halve it)")
    origin = (lo1 + hi1) / 2.0
    cc = core - origin
    m = core.shape[0]
    span = float(np.abs(np.stack([lo1, hi1, lo2, hi2, loc, hic]) - origin).max())
    pad = F32_PAD * max(span, params.normal_radius + params.max_depth + params.cylinder_radius)
    e1 = _make_epoch(p1, origin)
    e2 = _make_epoch(p2, origin)

    order = spatial_order(cc, cell=4.0 * max(params.normal_radius, params.cylinder_radius))
    cc_o = cc[order]
    viewpoint = (None if isinstance(params.orientation, str)
                 else np.asarray(params.orientation) - origin)
    if normals is not None:
        given = np.asarray(normals, dtype=np.float64)
        if given.shape != (m, 3):
            raise ProcessingError(f"normals must be an ({m}, 3) array, one per core point, "
                                  f"got shape {given.shape}")
        ln = np.linalg.norm(given, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            given_o = (given / ln[:, None])[order]
        given_o[~(ln[order] > 0)] = np.nan

    dist_o = np.full(m, np.nan)
    lod_o = np.full(m, np.nan)
    n1_o = np.zeros(m, dtype=np.int64)
    n2_o = np.zeros(m, dtype=np.int64)
    s1_o = np.full(m, np.nan)
    s2_o = np.full(m, np.nan)
    nrm_o = np.full((m, 3), np.nan)
    ncount_o = np.zeros(m, dtype=np.int64)
    # The part |t| <= depth of the reference cylinder lies inside the normal ball (with a
    # hair of margin against rounding): it comes from the normal search; only the rest of
    # the reference cylinder, and the whole compared one, are searched in slabs.
    r, h = params.cylinder_radius, params.max_depth
    depth = -1.0
    if normals is None and params.normal_radius > r:
        depth = min(h, math.sqrt(params.normal_radius**2 - r * r) * (1.0 - 1e-9))
    slabs2 = _slabs([(-h, h, False, True)], r, pad)
    slabs1: _Slabs | None = slabs2
    if depth >= h:
        slabs1 = None
    elif depth > 0:
        slabs1 = _slabs([(-h, -depth, False, False), (depth, h, True, True)], r, pad)
    # Starting k of the bounded kNN queries, from a sample of the core points (slab centres
    # lie near the same surfaces); slab geometry and occupancy grids are built here, before
    # the blocks run in threads.
    k_normal = e1.search.k_for(cc_o, params.normal_radius + pad)
    k_slab = [e.search.k_for(cc_o, sl.ball) if sl else 0
              for e, sl in ((e1, slabs1), (e2, slabs2))]
    for e, sl, k in ((e1, slabs1, k_slab[0]), (e2, slabs2, k_slab[1])):
        if sl is not None and sl.count > 1:
            e.occupancy = _Occupancy(e.points, sl.ball)
        if k > DENSE_K or (e is e1 and k_normal > DENSE_K):
            e.search.ctree()  # build before the threads start

    def block(b: int) -> None:
        blk = slice(b, min(b + CORE_BLOCK, m))
        cb = cc_o[blk]
        mb = cb.shape[0]
        id1, t1 = np.zeros(0, dtype=np.int64), np.zeros(0)
        if normals is None:
            nb, ncount_o[blk], id1, t1 = _normals_and_pairs(e1, cb, viewpoint, params, pad,
                                                            depth, k_normal)
        else:
            nb = given_o[blk]
        nrm_o[blk] = nb
        good = np.flatnonzero(np.isfinite(nb).all(axis=1))
        if slabs1 is not None:
            i, t = _slab_pairs(e1, cb[good], nb[good], slabs1, r, k_slab[0])
            id1, t1 = np.concatenate([id1, good[i]]), np.concatenate([t1, t])
        id2, t2 = _slab_pairs(e2, cb[good], nb[good], slabs2, r, k_slab[1])
        id2 = good[id2]
        k1, v1, sd1 = _stats(id1, t1, mb, params.statistic)
        k2, v2, sd2 = _stats(id2, t2, mb, params.statistic)
        n1_o[blk], n2_o[blk] = k1, k2
        ok = (k1 >= params.min_points) & (k2 >= params.min_points)
        s1_o[blk] = np.where(k1 > 0, sd1, np.nan)
        s2_o[blk] = np.where(k2 > 0, sd2, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            lod = 1.96 * (np.sqrt(sd1**2 / k1 + sd2**2 / k2) + params.registration_error)
        dist_o[blk] = np.where(ok, v2 - v1, np.nan)
        lod_o[blk] = np.where(ok, lod, np.nan)

    # Two blocks in flight: the tree queries (OpenMP, GIL released) of one overlap the numpy
    # work (mostly single-threaded) of the other; blocks write disjoint slices.
    starts = range(0, m, CORE_BLOCK)
    if len(starts) > 1 and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(block, starts))
    else:
        for b in starts:
            block(b)

    inv = np.empty(m, dtype=np.int64)
    inv[order] = np.arange(m)
    distance = dist_o[inv]
    lod = lod_o[inv]
    with np.errstate(invalid="ignore"):
        # Below a nanometre a difference is summation order, not change (with LoD 0, e.g. one
        # point per cylinder and no registration error, it would count otherwise).
        significant = np.abs(distance) > np.maximum(lod, NUMERICAL_ZERO)
    return M3C2Result(core_points=core, normals=nrm_o[inv], distance=distance, lod=lod,
                      significant=significant, n1=n1_o[inv], n2=n2_o[inv], std1=s1_o[inv],
                      std2=s2_o[inv], normal_count=ncount_o[inv], params=params)
