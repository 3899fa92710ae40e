"""Levels of detail by quadric edge collapse (fast-simplification: 7–15x faster than VTK,
pymeshlab or Open3D on a 2M-face mesh, see BASELINES.md).

Vertex colours survive decimation through the collapse history that fast-simplification
returns: every original vertex is followed along its chain of collapses to the vertex it ended
in, so each decimated vertex knows the cluster of original vertices it stands for, and colours
are averaged over that cluster (a proper low-pass for a coarser level).  If the history ever
disagrees with the output (a library change), colours fall back to the nearest original vertex
(pykdtree).  Textured meshes are decimated welded (UV seams joined) and every coarser level gets
a new atlas baked from lod0 (processing.texbake): old UVs cannot follow a collapse across a
seam, and seams kept as borders stop the decimation long before its target.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import fast_simplification
import numpy as np
from PIL import Image
from pykdtree.kdtree import KDTree

from processing.errors import ProcessingError
from processing.meshclean import index_dtype, vertex_normals
from processing.types import Mesh

log = logging.getLogger(__name__)

#: a LOD whose face count misses its target by more than this is logged as a warning
TARGET_TOLERANCE = 0.10


def _roots(n: int, collapses: np.ndarray) -> np.ndarray:
    """Final vertex each original vertex was collapsed into (itself if never collapsed).

    ``collapses[i] = (i0, i1)``: i1 was merged into i0.  A removed vertex is never a target
    later, so parent links form a forest; pointer jumping resolves chains in O(log depth)
    vectorised passes."""
    parent = np.arange(n, dtype=np.int64)
    if len(collapses):
        parent[collapses[:, 1]] = collapses[:, 0]
    while True:
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            return parent
        parent = nxt


def decimate(mesh: Mesh, target_faces: int, aggressiveness: float = 7.0,
             preserve_border: bool = False) -> Mesh:
    """Quadric decimation of ``mesh`` to about ``target_faces`` faces, carrying vertex colours.

    Positions are decimated in float64 (fast-simplification's native type; site-frame values).
    Texture and UVs are not carried: :func:`make_lods` bakes a new atlas per level.
    """
    n_faces = mesh.n_faces
    if target_faces >= n_faces:
        return mesh
    if target_faces < 1:
        raise ProcessingError(f"cannot decimate {n_faces} faces to {target_faces}")
    verts = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=index_dtype(len(verts)))
    pts, tri, collapses = fast_simplification.simplify(
        verts, faces, target_count=int(target_faces), agg=aggressiveness,
        preserve_border=preserve_border, return_collapses=True)
    tri = tri.astype(index_dtype(len(pts)), copy=False)
    out = Mesh(vertices=pts, faces=tri, crs=mesh.crs, frame=mesh.frame, source=mesh.source)

    # fast-simplification compacts survivors in original index order: rebuild that list
    root = _roots(len(verts), collapses)
    rf = root[faces]
    alive = (rf[:, 0] != rf[:, 1]) & (rf[:, 1] != rf[:, 2]) & (rf[:, 0] != rf[:, 2])
    survivors = np.unique(rf[alive])
    if len(survivors) == len(pts):
        cluster = np.full(len(verts), -1, dtype=np.int64)
        cluster[survivors] = np.arange(len(pts))
        cluster = cluster[root]                  # original vertex -> decimated vertex or -1
        if mesh.vertex_colors is not None:
            out.vertex_colors = _cluster_mean(mesh.vertex_colors, cluster, len(pts))
    else:
        log.warning("collapse history does not match the decimated mesh (%d vs %d vertices); "
                    "transferring attributes by nearest vertex", len(survivors), len(pts))
        _, nearest = KDTree(verts.astype(np.float32)).query(pts.astype(np.float32), k=1)
        nearest = nearest.astype(np.int64)
        if mesh.vertex_colors is not None:
            out.vertex_colors = mesh.vertex_colors[nearest]
    out.normals = vertex_normals(out.vertices, out.faces)
    return out


def _cluster_mean(colors: np.ndarray, cluster: np.ndarray, m: int) -> np.ndarray:
    ok = cluster >= 0
    idx = cluster[ok]
    cnt = np.bincount(idx, minlength=m).astype(np.float64)
    cnt[cnt == 0] = 1.0
    c = colors[ok].astype(np.float64)
    mean = np.stack([np.bincount(idx, c[:, i], minlength=m) for i in range(c.shape[1])],
                    axis=1) / cnt[:, None]
    return np.clip(np.rint(mean), 0, np.iinfo(colors.dtype).max).astype(colors.dtype)


def limit_texture(mesh: Mesh, max_size: int) -> Mesh:
    """``mesh`` with its texture scaled down (Lanczos) so neither edge exceeds ``max_size``;
    UVs are normalised, so they stay valid.  Returns ``mesh`` itself when nothing changes."""
    tex = mesh.texture
    if tex is None or max(tex.shape[:2]) <= max_size:
        return mesh
    s = max_size / max(tex.shape[:2])
    size = (max(1, round(tex.shape[1] * s)), max(1, round(tex.shape[0] * s)))
    small = np.asarray(Image.fromarray(tex).resize(size, Image.Resampling.LANCZOS))
    return dataclasses.replace(mesh, texture=small)


def weld(mesh: Mesh) -> Mesh:
    """``mesh`` without texture, one vertex per distinct position (vertices a reader split at UV
    seams joined again), so decimation sees the surface, not the UV layout.  Colours and normals
    of the first vertex at each position are kept."""
    v = np.asarray(mesh.vertices)
    _, first, inverse = np.unique(v, axis=0, return_index=True, return_inverse=True)
    keep = np.sort(first)                          # original order of the first occurrences
    rank = np.empty(len(v), np.int64)
    rank[keep] = np.arange(len(keep))
    new_index = rank[first[inverse.ravel()]]
    faces = new_index[np.asarray(mesh.faces, np.int64)].astype(index_dtype(len(keep)))
    return Mesh(vertices=v[keep], faces=faces, crs=mesh.crs, frame=mesh.frame,
                vertex_colors=None if mesh.vertex_colors is None else mesh.vertex_colors[keep],
                source=mesh.source)


def make_lods(mesh: Mesh, fractions: Sequence[float] = (1.0, 0.25, 0.05),
              aggressiveness: float = 7.0, preserve_border: bool = False,
              texture_size: int | None = None) -> list[Mesh]:
    """One mesh per fraction of ``mesh``'s face count (lod0 first).

    Each level is decimated from the previous one, not from lod0: the 5 % level then starts
    from 25 % of the faces (~4x less work) at a quality cost too small to see at the distance
    it is shown.  ``preserve_border`` keeps the open borders of the surface (not UV seams:
    a textured mesh is decimated welded and each coarser level gets its own atlas, baked from
    lod0 by :mod:`processing.texbake`).  ``texture_size`` caps lod0's texture edge; coarser
    levels get textures in proportion to their faces (:func:`texbake.texture_side`).
    """
    from processing import texbake

    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ProcessingError(f"LOD fractions must be in (0, 1], got {list(fractions)}")
    if mesh.normals is None:
        mesh = dataclasses.replace(mesh, normals=vertex_normals(mesh.vertices, mesh.faces))
    textured = mesh.uv is not None and mesh.texture is not None
    n0 = mesh.n_faces
    lod0 = limit_texture(mesh, texture_size) if texture_size is not None else mesh
    prev = weld(mesh) if textured else mesh
    lookup = texbake.SurfaceLookup(lod0) if textured and len(fractions) > 1 else None
    lods: list[Mesh] = []
    for f in fractions:
        target = max(1, round(f * n0))
        if f == 1.0:
            lods.append(lod0)
            continue
        level = decimate(prev, target, aggressiveness, preserve_border)
        miss = abs(level.n_faces - target) / target
        if miss > TARGET_TOLERANCE:
            log.warning("LOD %.3f: %d faces for a target of %d (%.0f %% off)%s", f,
                        level.n_faces, target, 100 * miss,
                        "; open borders limit the reduction" if preserve_border else "")
        prev = level
        if textured:
            side = texbake.texture_side(max(lod0.texture.shape[:2]), level.n_faces / n0)
            level = texbake.bake(level, lod0, side, lookup)
        lods.append(level)
    return lods
