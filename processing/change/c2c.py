"""Cloud-to-cloud (C2C) distance: each compared point to its nearest reference point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pykdtree.kdtree import KDTree

from processing.change._common import (
    CHUNK,
    F32_PAD,
    as_points,
    centre_of,
    positive,
    spatial_order,
)
from processing.change.summary import histogram, statistics


@dataclass
class C2CResult:
    """Per compared point: ``distance`` (m, >= 0; NaN beyond ``max_distance``), ``nearest``
    (index into the reference, -1 where none), and with ``split=True`` the ``horizontal``
    (>= 0) and signed ``vertical`` (compared z minus nearest reference z) components."""

    distance: np.ndarray
    nearest: np.ndarray
    horizontal: np.ndarray | None = None
    vertical: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_summary(self, bins: int = 41) -> dict[str, Any]:
        out: dict[str, Any] = {"method": "c2c", "parameters": dict(self.params),
                               "statistics": statistics(self.distance),
                               "histogram": histogram(self.distance, bins=bins)}
        if self.vertical is not None and self.horizontal is not None:
            out["vertical"] = {"statistics": statistics(self.vertical),
                               "histogram": histogram(self.vertical, bins=bins)}
            out["horizontal"] = {"statistics": statistics(self.horizontal)}
        return out


def c2c(compared: np.ndarray, reference: np.ndarray, *, max_distance: float | None = None,
        split: bool = False) -> C2CResult:
    """Nearest-neighbour distance from every compared point to the reference cloud.

    A pykdtree float32 tree on the reference (centred on its bounding-box midpoint) finds the
    neighbour; the distance itself is recomputed in float64.  ``max_distance`` bounds the
    search (much faster where the clouds differ) and gives NaN beyond it.
    """
    cmp_ = as_points(compared, "compared epoch")
    ref = as_points(reference, "reference epoch")
    bound = None if max_distance is None else positive(max_distance, "max_distance")
    origin = centre_of(ref)
    n = ref.shape[0]
    m = cmp_.shape[0]
    # float32 centred copy for the tree, filled in chunks: no float64 temporary of the
    # whole cloud (240 MB at 10M points).  Distances come from the float64 inputs.
    ref32 = np.empty((n, 3), dtype=np.float32)
    for s in range(0, n, CHUNK * 16):
        ref32[s:s + CHUNK * 16] = ref[s:s + CHUNK * 16] - origin
    tree = KDTree(ref32, leafsize=16)
    kwargs: dict[str, Any] = {}
    if bound is not None:
        span = max(float(np.abs(x - origin).max()) for x in (ref.min(axis=0), ref.max(axis=0),
                                                            cmp_.min(axis=0), cmp_.max(axis=0)))
        kwargs["distance_upper_bound"] = bound + F32_PAD * max(span, bound)
    nearest = np.full(m, -1, dtype=np.int64)
    distance = np.full(m, np.nan)
    horizontal = np.full(m, np.nan) if split else None
    vertical = np.full(m, np.nan) if split else None
    # Spatially ordered queries stay in the tree's cache; chunks keep the float32 queries and
    # float64 differences small, so 10M points need little beyond inputs and outputs.
    order = spatial_order(cmp_, cell=max(bound or 0.0, 1.0) * 4.0)
    for s in range(0, m, CHUNK * 8):
        rows = order[s:s + CHUNK * 8]
        q = cmp_[rows]
        _, idx = tree.query(np.ascontiguousarray(q - origin, dtype=np.float32), k=1, **kwargs)
        found = idx < n
        rows, q, idx = rows[found], q[found], idx[found].astype(np.int64)
        diff = q - ref[idx]
        d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        if bound is not None:
            near = d <= bound
            rows, idx, diff, d = rows[near], idx[near], diff[near], d[near]
        nearest[rows] = idx
        distance[rows] = d
        if split:
            horizontal[rows] = np.hypot(diff[:, 0], diff[:, 1])
            vertical[rows] = diff[:, 2]
    return C2CResult(distance=distance, nearest=nearest, horizontal=horizontal,
                     vertical=vertical,
                     params={"max_distance": bound, "split": bool(split),
                             "compared_points": int(m), "reference_points": int(n)})
