"""Mesh repair before level-of-detail and export: merge duplicate vertices (never across a UV
seam or a colour change), drop degenerate and duplicate faces and unreferenced vertices, and
compute area-weighted vertex normals.  Textures and UVs travel with the vertices.
"""

from __future__ import annotations

import logging

import numpy as np

from processing.types import Mesh

log = logging.getLogger(__name__)

# a face is degenerate when its height is below this fraction of its longest edge
_DEGENERATE_REL = 1e-10


def index_dtype(n_vertices: int) -> type:
    """int32 indices where they fit: half the memory, and fast-simplification's native type."""
    return np.int32 if n_vertices < 2**31 else np.int64


def _edges(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge vectors v1-v0 and v2-v0 as (3, M) arrays: component rows are contiguous, which makes
    the cross product and the bincounts below ~2x faster than on (M, 3) rows."""
    vt = np.ascontiguousarray(np.asarray(vertices, dtype=np.float64).T)
    a = vt[:, faces[:, 0]]
    return vt[:, faces[:, 1]] - a, vt[:, faces[:, 2]] - a


def _cross(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    return np.stack([e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                     e1[0] * e2[1] - e1[1] * e2[0]])


def _accumulate_normals(face_cross: np.ndarray, faces: np.ndarray, n: int) -> np.ndarray:
    """Sum each face's (area-weighted) normal into its three vertices; unit length, float32."""
    corners = [np.ascontiguousarray(faces[:, k]) for k in range(3)]
    acc = np.stack([sum(np.bincount(c, face_cross[i], minlength=n) for c in corners)
                    for i in range(3)])
    length = np.sqrt(np.einsum("ij,ij->j", acc, acc))
    ok = length > 0
    out = np.zeros((n, 3), dtype=np.float32)
    out[ok] = (acc[:, ok] / length[ok]).T
    out[~ok, 2] = 1.0
    return out


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals, float32 (+z where a vertex has no area around it).

    The unnormalised cross product is twice the face area, so area weighting comes for free."""
    f = np.asarray(faces)
    return _accumulate_normals(_cross(*_edges(vertices, f)), f, len(vertices))


def compact(mesh: Mesh, faces: np.ndarray, keep_vertex: np.ndarray | None = None) -> Mesh:
    """``mesh`` with ``faces`` (indices into mesh.vertices), keeping only vertices that are
    referenced (and in ``keep_vertex`` if given: faces touching a dropped vertex go too).
    Per-vertex arrays (colours, UVs, normals) follow their vertices; the texture is kept."""
    n = len(mesh.vertices)
    if keep_vertex is not None and not keep_vertex.all():
        faces = faces[keep_vertex[faces].all(axis=1)]
    used = np.zeros(n, dtype=bool)
    used[faces.ravel()] = True
    remap = np.cumsum(used, dtype=np.int64) - 1
    k = int(used.sum())
    dt = index_dtype(k)

    def pick(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[used]

    return Mesh(vertices=mesh.vertices[used], faces=remap[faces].astype(dt, copy=False),
                crs=mesh.crs, frame=mesh.frame, vertex_colors=pick(mesh.vertex_colors),
                normals=pick(mesh.normals), uv=pick(mesh.uv), texture=mesh.texture,
                texture_format=mesh.texture_format, texture_file=mesh.texture_file,
                source=mesh.source)


def _row_bits(*arrays: np.ndarray | None) -> np.ndarray:
    """Per-vertex rows of raw bits (uint64 columns) of every attribute that must match."""
    cols = []
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a)
        if a.dtype.kind == "f":
            # +0.0 turns -0.0 into 0.0 so that equal values have equal bits
            a = (a.astype(np.float64) + 0.0).view(np.uint64)
        cols.append(a.reshape(len(a), -1).astype(np.uint64))
    return np.concatenate(cols, axis=1)


def duplicate_vertex_map(mesh: Mesh) -> np.ndarray:
    """For every vertex, the index of the first vertex with the same position, UV and colour.

    Rows are hashed into one uint64 (one np.unique instead of a lexsort over 5–9 columns),
    then every row is compared with its group's first row; a hash collision falls back to an
    exact row-wise unique.
    """
    rows = _row_bits(mesh.vertices, mesh.uv, mesh.vertex_colors)
    h = np.full(len(rows), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for c in range(rows.shape[1]):
        h ^= rows[:, c]
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    rep = first[inv]
    if not np.array_equal(rows, rows[rep]):
        log.debug("vertex hash collision; falling back to an exact row unique")
        _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        rep = first[inv.ravel()]
    return rep


def clean_mesh(mesh: Mesh, merge_vertices: bool = True) -> tuple[Mesh, dict[str, int]]:
    """Repair ``mesh``; returns the clean mesh (with vertex normals) and what was removed."""
    faces = np.asarray(mesh.faces, dtype=np.int64)
    stats = {"vertices_in": len(mesh.vertices), "faces_in": len(faces)}
    merged = 0
    if merge_vertices and len(mesh.vertices):
        rep = duplicate_vertex_map(mesh)
        merged = int(np.count_nonzero(rep != np.arange(len(rep))))
        if merged:
            faces = rep[faces]
    stats["merged_vertices"] = merged

    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    repeated = (a == b) | (b == c) | (a == c)
    e1, e2 = _edges(mesh.vertices, faces)
    cr = _cross(e1, e2)
    cross2 = np.einsum("ij,ij->j", cr, cr)
    e3 = e2 - e1
    longest2 = np.maximum.reduce([np.einsum("ij,ij->j", e, e) for e in (e1, e2, e3)])
    del e1, e2, e3
    # |cross| = height * longest edge; height < rel * longest <=> |cross|^2 < rel^2 * longest^4
    flat = cross2 <= (_DEGENERATE_REL**2) * longest2 * longest2
    good = ~(repeated | flat)
    stats["degenerate_faces"] = int(len(faces) - good.sum())
    if stats["degenerate_faces"]:
        faces, cr = faces[good], cr[:, good]

    # the vertex set of a face, sorted: min/max/sum beat np.sort(axis=1) on 3-wide rows
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    lo, hi = np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)
    mid = a + b + c - lo - hi
    if len(mesh.vertices) < 2**21:               # three 21-bit indices pack into one int64
        _, first = np.unique((lo << 42) | (mid << 21) | hi, return_index=True)
    else:
        _, first = np.unique(np.c_[lo, mid, hi], axis=0, return_index=True)
    stats["duplicate_faces"] = int(len(faces) - len(first))
    if stats["duplicate_faces"]:
        first = np.sort(first)                   # keep the first of each, in input order
        faces, cr = faces[first], cr[:, first]

    nv = len(mesh.vertices)
    used = np.zeros(nv, dtype=bool)
    used[faces.ravel()] = True
    stats["unreferenced_vertices"] = int(nv - used.sum() - merged)
    out = compact(mesh, faces)
    out.normals = _accumulate_normals(cr, out.faces, len(out.vertices))
    stats["vertices_out"], stats["faces_out"] = len(out.vertices), out.n_faces
    log.info("mesh cleaning: %s", stats)
    return out, stats
