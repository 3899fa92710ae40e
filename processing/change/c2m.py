"""Cloud-to-mesh (C2M) signed distance: each point to the closest point on a triangle mesh.

Open3D's ``RaycastingScene.compute_closest_points`` finds the closest point exactly (BVH,
multithreaded).  Its ``compute_signed_distance`` takes the sign from ray-crossing parity, which
is meaningless for open surfaces (a terrain or a facade scan: every point counts as "outside").
So the sign is ours: the side of the angle-weighted pseudo-normal (Baerentzen & Aanaes 2005)
of the closest feature (face interior, edge or vertex), which is correct for closed meshes and
follows the face winding on open ones.  Positive = on the side the (counter-clockwise) face
normals point to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processing.change._common import as_points, centre_of, positive
from processing.change.summary import histogram, statistics
from processing.errors import ProcessingError

FEATURE_FACE, FEATURE_EDGE, FEATURE_VERTEX = 0, 1, 2
# Barycentric coordinates from Open3D are float32: below this a coordinate counts as 0.
BARY_TOL = 1e-5
QUERY_CHUNK = 16_384   # points per closest-point query: Open3D holds the GIL through a call,
                       # so a viewer computing change in a thread would wait for the whole
                       # query (~300 ms for 240k points); per chunk it waits ~20 ms at most


@dataclass
class C2MResult:
    """Per point: signed ``distance`` (m; NaN beyond ``max_distance``), ``closest`` point on
    the mesh (N, 3), ``face`` index (-1 where none) and ``feature`` (0 face interior, 1 edge,
    2 vertex: where the sign came from)."""

    distance: np.ndarray
    closest: np.ndarray
    face: np.ndarray
    feature: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def to_summary(self, bins: int = 41) -> dict[str, Any]:
        return {"method": "c2m", "parameters": dict(self.params),
                "statistics": statistics(self.distance),
                "histogram": histogram(self.distance, bins=bins)}


def _as_faces(faces: Any, n_vertices: int) -> np.ndarray:
    try:
        f = np.ascontiguousarray(faces)
    except (TypeError, ValueError) as exc:
        raise ProcessingError(f"mesh faces: cannot read as an (M, 3) index array ({exc})") from exc
    if f.ndim != 2 or f.shape[1] != 3 or f.shape[0] == 0:
        raise ProcessingError(f"mesh faces: expected a non-empty (M, 3) array of vertex "
                              f"indices, got shape {f.shape}")
    if not np.issubdtype(f.dtype, np.integer):
        raise ProcessingError(f"mesh faces must be integer vertex indices, got {f.dtype}")
    if f.min() < 0 or f.max() >= n_vertices:
        raise ProcessingError(f"mesh faces index vertices {int(f.min())}..{int(f.max())} but "
                              f"the mesh has {n_vertices} vertices: the mesh is corrupt")
    return f.astype(np.int64)


def pseudo_normals(vertices: np.ndarray, faces: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Face unit normals, angle-weighted vertex normals, and per face corner the normal of the
    edge opposite that corner (sum of the unit normals of the faces sharing the edge)."""
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    fn = np.cross(v1 - v0, v2 - v0)
    ln = np.linalg.norm(fn, axis=1)
    fn = np.divide(fn, ln[:, None], out=np.zeros_like(fn), where=ln[:, None] > 0)
    # Interior angle at each corner weights the face normal into the vertex normal.
    corners = np.stack([v0, v1, v2], axis=1)
    ang = np.empty((faces.shape[0], 3))
    for i in range(3):
        a = corners[:, (i + 1) % 3] - corners[:, i]
        b = corners[:, (i + 2) % 3] - corners[:, i]
        cos = np.einsum("ij,ij->i", a, b)
        sin = np.linalg.norm(np.cross(a, b), axis=1)
        ang[:, i] = np.arctan2(sin, cos)
    nv = vertices.shape[0]
    vn = np.zeros((nv, 3))
    for j in range(3):
        vn[:, j] = np.bincount(faces.ravel(), weights=(ang * fn[:, j:j + 1]).ravel(),
                               minlength=nv)
    # Edge opposite corner i joins the other two corners; sort its ends for a unique key.
    ends = np.stack([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]], axis=1)
    ends.sort(axis=2)
    key = ends[..., 0] * np.int64(nv) + ends[..., 1]
    uniq, inv = np.unique(key.ravel(), return_inverse=True)
    en = np.zeros((uniq.size, 3))
    for j in range(3):
        en[:, j] = np.bincount(inv, weights=np.repeat(fn[:, j], 3), minlength=uniq.size)
    edge_normals = en[inv].reshape(faces.shape[0], 3, 3)
    return fn, vn, edge_normals, ln


def c2m(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
        max_distance: float | None = None) -> C2MResult:
    """Signed distance from each point to the mesh (vertices (V, 3), faces (F, 3))."""
    import open3d as o3d  # heavy import, only where used

    pts = as_points(points, "points to compare")
    verts = as_points(vertices, "mesh vertices")
    tri = _as_faces(faces, verts.shape[0])
    bound = None if max_distance is None else positive(max_distance, "max_distance")
    fn, vn, edge_n, area2 = pseudo_normals(verts, tri)
    if not (area2 > 0).any():
        raise ProcessingError("the mesh has only degenerate (zero-area) triangles: there is no "
                              "surface to measure against")
    origin = centre_of(verts)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(verts - origin, dtype=np.float32)),
                        o3d.core.Tensor(np.ascontiguousarray(tri, dtype=np.uint32)))
    query = np.ascontiguousarray(pts - origin, dtype=np.float32)
    face = np.empty(len(query), np.int64)
    uv = np.empty((len(query), 2), np.float64)
    for s in range(0, len(query), QUERY_CHUNK):
        res = scene.compute_closest_points(o3d.core.Tensor(query[s:s + QUERY_CHUNK]))
        face[s:s + QUERY_CHUNK] = res["primitive_ids"].numpy()
        uv[s:s + QUERY_CHUNK] = res["primitive_uvs"].numpy()
    # Rebuild the closest point in float64 from the barycentrics (Open3D's are float32):
    # point = (1 - u - v) v0 + u v1 + v v2.
    bary = np.column_stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]])
    closest = np.einsum("mi,mij->mj", bary, verts[tri[face]])
    diff = pts - closest
    dist = np.linalg.norm(diff, axis=1)
    zero = np.abs(bary) <= BARY_TOL
    nz = zero.sum(axis=1)
    feature = np.where(nz >= 2, FEATURE_VERTEX, np.where(nz == 1, FEATURE_EDGE, FEATURE_FACE))
    normal = fn[face].copy()
    on_edge = feature == FEATURE_EDGE
    if on_edge.any():
        corner = np.argmax(zero[on_edge], axis=1)  # the edge is opposite the zero coordinate
        normal[on_edge] = edge_n[face[on_edge], corner]
    on_vertex = feature == FEATURE_VERTEX
    if on_vertex.any():
        corner = np.argmax(bary[on_vertex], axis=1)
        normal[on_vertex] = vn[tri[face[on_vertex], corner]]
    side = np.einsum("ij,ij->i", diff, normal)
    distance = np.where(side < 0, -dist, dist)
    face_out = face.copy()
    if bound is not None:
        far = dist > bound
        distance[far] = np.nan
        face_out[far] = -1
    return C2MResult(distance=distance, closest=closest, face=face_out, feature=feature,
                     params={"max_distance": bound, "points": int(pts.shape[0]),
                             "faces": int(tri.shape[0])})
