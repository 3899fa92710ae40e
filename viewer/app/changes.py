"""Change values for a pair of epochs when the archive holds no change product (no Qt).

The viewer never writes products: what it computes here is shown and then forgotten. The work
goes to `processing.compare` when that offers a mesh-pair entry point; until then a small,
vectorised fallback gives a signed nearest-surface distance so the heatmap still works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pykdtree.kdtree import KDTree

from viewer.app.model import ChangeData
from viewer.app.scene import Cancelled, MeshData

MAX_DISTANCE = 50.0   # metres; farther vertices get no value instead of a slow tree search


def _processing_hook() -> Callable[..., Any] | None:
    """`processing.compare.mesh_change(vertices_a, faces_a, vertices_b, faces_b, progress=...)`,
    when the processing layer provides it."""
    try:
        from processing import compare
    except ImportError:
        return None
    return getattr(compare, "mesh_change", None)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    v = vertices.astype(np.float64, copy=False)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return n / np.where(norm > 0, norm, 1)


def signed_distance(a: MeshData, b: MeshData, progress: Callable[[float, str], None],
                    cancelled: Callable[[], bool]) -> np.ndarray:
    """For each vertex of b: distance to the nearest vertex of a, signed by a's normal there
    (positive where b lies outside/above a: material added)."""
    progress(0.05, "normals")
    normals = vertex_normals(a.vertices, a.faces)
    if cancelled():
        raise Cancelled
    progress(0.3, "tree")
    tree = KDTree(np.ascontiguousarray(a.vertices, np.float32), leafsize=16)
    if cancelled():
        raise Cancelled
    progress(0.5, "query")
    qb = np.ascontiguousarray(b.vertices, np.float32)
    dist, idx = tree.query(qb, k=1, distance_upper_bound=MAX_DISTANCE)
    found = np.isfinite(dist) & (idx < len(a.vertices))
    out = np.full(len(qb), np.nan, np.float32)
    i = idx[found].astype(np.intp)
    side = np.einsum("ij,ij->i", qb[found] - a.vertices[i], normals[i])
    out[found] = np.where(side < 0, -dist[found], dist[found])
    progress(1.0, "done")
    return out


def compute_change(a_id: str, b_id: str, lod: int, a: MeshData, b: MeshData,
                   progress: Callable[[float, str], None],
                   cancelled: Callable[[], bool]) -> ChangeData:
    hook = _processing_hook()
    if hook is not None:
        result = hook(a.vertices, a.faces, b.vertices, b.faces, progress=progress)
        values = np.asarray(result.get("distance") if isinstance(result, dict) else result,
                            np.float32)
        lod_value = result.get("level_of_detection") if isinstance(result, dict) else None
        return ChangeData(a_id, b_id, lod, values, level_of_detection=lod_value,
                          method="processing.compare", computed=True)
    values = signed_distance(a, b, progress, cancelled)
    return ChangeData(a_id, b_id, lod, values, method="nearest-vertex distance (viewer)",
                      computed=True)
