"""Shared helpers for the change-detection methods: input checks, local frames, ball queries.

Neighbour searches run on pykdtree float32 trees over coordinates centred on a local origin
(float32 keeps ~1e-7 of the extent: 0.02 mm over 200 m).  Every search radius is padded by the
float32 rounding bound so that a query returns a superset; membership is then decided exactly
in float64.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from pykdtree.kdtree import KDTree
from scipy.spatial import cKDTree

from processing.errors import ProcessingError

# Rows of queries per kNN call: keeps the (rows, k, 3) float64 gathers in cache (a few MB).
CHUNK = 1 << 14
# float32 relative rounding (2**-24) times a safety factor: pads search radii.
F32_PAD = 4.0 * 2.0**-24
# Above this many neighbours per query a bounded kNN (which keeps its k best in order) costs
# more than scipy's dual-tree fixed-radius join, even though that one runs on one core.
DENSE_K = 96


def as_points(value: Any, what: str, *, allow_empty: bool = False) -> np.ndarray:
    """``value`` as a C-contiguous (N, 3) float64 array, or a ProcessingError naming ``what``."""
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProcessingError(f"{what}: cannot read as an (N, 3) array of numbers ({exc})") from exc
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ProcessingError(f"{what}: expected an (N, 3) array of x, y, z, got shape "
                              f"{arr.shape}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ProcessingError(f"{what} is empty (0 points): check that the epoch was read and "
                              "not filtered away (classes, bounds) before comparing")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ProcessingError(f"{what}: {bad} point(s) have NaN or infinite coordinates; drop "
                              "them before comparing")
    return arr


def positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (or >= 0), else a ProcessingError naming the parameter."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ProcessingError(f"{name} must be a number, got {value!r}") from exc
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ProcessingError(f"{name} must be a finite number {bound} (metres), got {value!r}")
    return v


def centre_of(points: np.ndarray) -> np.ndarray:
    """Midpoint of the bounding box: the local origin for float32 trees."""
    return (points.min(axis=0) + points.max(axis=0)) / 2.0


def extent_of(*arrays: np.ndarray) -> float:
    """Largest absolute coordinate over already-centred arrays (for float32 padding)."""
    return max((float(np.abs(a).max()) for a in arrays if a.size), default=0.0)


def build_tree(centred: np.ndarray) -> KDTree:
    """pykdtree over float32 copies of centred float64 points."""
    return KDTree(np.ascontiguousarray(centred, dtype=np.float32), leafsize=16)


def spatial_order(points: np.ndarray, cell: float) -> np.ndarray:
    """A permutation that visits points cell by cell (x-major), so consecutive kNN queries
    touch the same tree leaves; this halves query time against random order."""
    n = points.shape[0]
    if n < 2:
        return np.arange(n)
    cell = max(cell, 1e-9)
    lo = points.min(axis=0)
    dims = np.floor((points.max(axis=0) - lo) / cell).astype(np.int64) + 1
    if float(np.prod(dims.astype(np.float64))) >= 2.0**62:
        ijk = np.floor((points - lo) / cell).astype(np.int64)
        return np.lexsort((ijk[:, 2], ijk[:, 1], ijk[:, 0]))
    # One axis at a time: no (N, 3) temporaries at 10M points.
    key = np.zeros(n, dtype=np.int64)
    for ax in range(3):
        key *= dims[ax]
        key += ((points[:, ax] - lo[ax]) / cell).astype(np.int64)
    return np.argsort(key, kind="stable")


def ball_query(tree: KDTree, n_points: int, queries: np.ndarray, radius: float,
               k_start: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """All tree points within ``radius`` of each query (a float32 (M, 3) array).

    Yields ``(rows, idx)``: ``rows`` index into ``queries``; ``idx`` is (len(rows), k) with
    ``n_points`` marking empty slots.  kNN with a distance bound is exact only when the k-th
    slot stays empty, so rows whose k-th neighbour is still inside the ball are asked again
    with 4k until none is truncated; each row is yielded exactly once, with its full
    neighbourhood, in slices of at most CHUNK rows (fewer when k is large).
    """
    k = max(1, min(int(k_start), n_points))
    block = 4 * CHUNK  # fewer, larger tree calls; the numpy work then runs on cache-sized slices
    for start in range(0, queries.shape[0], block):
        rows = np.arange(start, min(start + block, queries.shape[0]))
        kk = k
        while rows.size:
            q = queries[start:start + rows.size] if kk == k else queries[rows]
            _, idx = tree.query(q, k=kk, distance_upper_bound=radius, sqr_dists=True)
            idx = idx.reshape(rows.size, kk)
            if kk >= n_points:
                full = np.zeros(rows.size, dtype=bool)
            else:
                full = idx[:, -1] < n_points
            done_rows, done_idx = rows[~full], idx[~full]
            # Slices of ~CHUNK x 32 entries, however large k grew (dense neighbourhoods).
            step = max(256, CHUNK * 32 // kk)
            for s in range(0, done_rows.size, step):
                yield done_rows[s:s + step], done_idx[s:s + step]
            rows = rows[full]
            kk = min(kk * 4, n_points)


def padded(points: np.ndarray, origin: np.ndarray | None = None) -> np.ndarray:
    """``points`` (minus ``origin``) with one extra zero row: a gather table in which the
    empty-slot index ``n`` of a bounded kNN query is safe to take."""
    out = np.zeros((points.shape[0] + 1, 3), dtype=np.float64)
    out[:-1] = points
    if origin is not None:
        out[:-1] -= origin
    return out


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: missing values become None."""
    v = float(value)
    return v if np.isfinite(v) else None


def estimate_k(tree: KDTree, n_points: int, queries: np.ndarray, radius: float,
               sample: int = 512) -> int:
    """A starting k for ``ball_query``: 1.25 x the 90th percentile of exact neighbour counts on
    an even sample of the queries (float64 or float32), so few rows need a second, larger
    query."""
    if queries.shape[0] <= 4 * sample:
        # Few queries: a sampling pass would cost as much as the search (each tree call has
        # a fixed OpenMP start-up); start at 32 and let ball_query widen where needed.
        return min(32, max(n_points, 1))
    take = np.unique(np.linspace(0, queries.shape[0] - 1, sample).astype(np.int64))
    q32 = np.ascontiguousarray(queries[take], dtype=np.float32)
    counts = np.zeros(take.size, dtype=np.int64)
    for rows, idx in ball_query(tree, n_points, q32, radius, k_start=64):
        counts[rows] = (idx < n_points).sum(axis=1)
    return int(np.clip(1.25 * np.percentile(counts, 90) + 1, 4, max(n_points, 1)))


class Searcher:
    """Fixed-radius neighbours in one point set (centred float64, (n, 3)) as flat pairs.

    Sparse neighbourhoods go to a pykdtree float32 bounded kNN (multithreaded, GIL released);
    dense ones (expected k > DENSE_K) to scipy's ``cKDTree.sparse_distance_matrix`` between
    a tree of the queries and one of the points, built on first use.  Either way the pairs
    are a superset (radius padded for float32); callers decide membership in float64.
    """

    def __init__(self, points: np.ndarray):
        self.points = points
        self.n = points.shape[0]
        self.tree = build_tree(points)
        self._ctree: cKDTree | None = None
        self._lock = threading.Lock()

    def ctree(self) -> cKDTree:
        with self._lock:
            if self._ctree is None:
                self._ctree = cKDTree(self.points, leafsize=16, balanced_tree=False,
                                      compact_nodes=False)
        return self._ctree

    def k_for(self, queries: np.ndarray, radius: float) -> int:
        """``estimate_k`` for these queries (it samples them itself)."""
        return estimate_k(self.tree, self.n, queries, radius)

    def pairs(self, queries: np.ndarray, radius: float, k_start: int
              ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yields ``(rows, qi, pid)``: a slice ``rows`` of query indices and, flat, each
        neighbour ``pid`` of query ``rows[qi]`` within ``radius`` (queries float64)."""
        if k_start > DENSE_K and self.n > DENSE_K:
            other = self.ctree()
            step = CHUNK  # the dual tree wants large query sets; ~100 MB of pairs at k 250
            for s in range(0, queries.shape[0], step):
                rows = np.arange(s, min(s + step, queries.shape[0]))
                qt = cKDTree(queries[s:s + step], leafsize=16, balanced_tree=False,
                             compact_nodes=False)
                res = qt.sparse_distance_matrix(other, radius, output_type="ndarray")
                yield rows, res["i"], res["j"]
            return
        q32 = np.ascontiguousarray(queries, dtype=np.float32)
        for rows, idx in ball_query(self.tree, self.n, q32, radius, k_start):
            qi, kj = np.nonzero(idx < self.n)
            yield rows, qi, idx[qi, kj].astype(np.int64)
