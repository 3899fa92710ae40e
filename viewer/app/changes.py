"""Change values for a pair of epochs when the archive holds no change product (no Qt).

The viewer never writes products: what it computes here is shown and then forgotten. The work
is the processing layer's: `processing.compare.mesh_change` when the orchestration offers it,
else cloud-to-mesh distance (`processing.change.c2m`) of B's vertices against A's mesh, with
regions from `processing.change.regions.point_regions`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from viewer.app.model import ChangeData, Region
from viewer.app.scene import Cancelled, MeshData

MAX_DISTANCE = 50.0   # metres; farther vertices get no value instead of a slow search
MIN_REGION_CHANGE = 0.10  # metres; with no level of detection, regions need at least this


def _processing_hook() -> Callable[..., Any] | None:
    """`processing.compare.mesh_change(vertices_a, faces_a, vertices_b, faces_b, progress=...)`
    returning per-vertex values of b (and optionally level_of_detection, regions)."""
    try:
        from processing import compare
    except ImportError:
        return None
    return getattr(compare, "mesh_change", None)


def mean_edge(vertices: np.ndarray, faces: np.ndarray, sample: int = 20000) -> float:
    f = faces[:: max(1, len(faces) // sample)]
    v = vertices.astype(np.float64, copy=False)
    return float(np.linalg.norm(v[f[:, 1]] - v[f[:, 0]], axis=1).mean())


def compute_change(a_id: str, b_id: str, lod: int, a: MeshData, b: MeshData,
                   progress: Callable[[float, str], None],
                   cancelled: Callable[[], bool]) -> ChangeData:
    hook = _processing_hook()
    if hook is not None:
        result = hook(a.vertices, a.faces, b.vertices, b.faces, progress=progress)
        got = result if isinstance(result, dict) else {"distance": result}
        return ChangeData(a_id, b_id, lod, np.asarray(got["distance"], np.float32),
                          level_of_detection=got.get("level_of_detection"),
                          regions=[Region.from_json(r, i)
                                   for i, r in enumerate(got.get("regions") or [])],
                          method="processing.compare", computed=True)

    from processing.change.c2m import c2m
    from processing.change.regions import point_regions

    progress(0.05, "c2m")
    res = c2m(b.vertices.astype(np.float64), a.vertices.astype(np.float64), a.faces,
              max_distance=MAX_DISTANCE)
    values = res.distance.astype(np.float32)
    if cancelled():
        raise Cancelled
    progress(0.7, "regions")
    finite = np.abs(values[np.isfinite(values)])
    threshold = max(MIN_REGION_CHANGE, 3 * float(np.median(finite)) if finite.size else 0.0)
    link = 2.0 * mean_edge(b.vertices, b.faces)
    found = point_regions(b.vertices.astype(np.float64), values,
                          np.abs(values) >= threshold, link_distance=link, min_count=10)
    progress(1.0, "done")
    regions = [Region.from_json(r.to_dict(), i) for i, r in enumerate(found.regions[:50])]
    return ChangeData(a_id, b_id, lod, values, regions=regions,
                      method=f"C2M (viewer; regions where |d| ≥ {threshold:.2f} m)",
                      computed=True)
