"""Levels of detail by quadric edge collapse (fast-simplification: 7–15x faster than VTK,
pymeshlab or Open3D on a 2M-face mesh, see BASELINES.md).

Vertex attributes survive decimation through the collapse history that fast-simplification
returns: every original vertex is followed along its chain of collapses to the vertex it ended
in, so each decimated vertex knows the cluster of original vertices it stands for.  Colours are
averaged over that cluster (a proper low-pass for a coarser level).  UVs cannot be averaged
(a cluster may straddle a seam) nor taken from the surviving vertex (the quadric optimum slides
it by up to several edge lengths: 0.08 in UV on a test grid); instead each decimated vertex is
projected onto the closest point of the full-resolution mesh (Open3D RaycastingScene) and the
UVs of that triangle are interpolated barycentrically.  If the history ever disagrees with the
output (a library change), colours fall back to the nearest original vertex (pykdtree).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import fast_simplification
import numpy as np
import open3d as o3d
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


class SurfaceUV:
    """UV lookup at arbitrary points: closest point on a textured mesh, barycentric UVs."""

    def __init__(self, mesh: Mesh):
        self.centre = np.asarray(mesh.vertices, np.float64).mean(axis=0)
        self.faces = np.asarray(mesh.faces, np.int64)
        self.uv = np.asarray(mesh.uv, np.float32)
        self.scene = o3d.t.geometry.RaycastingScene()
        self.scene.add_triangles(
            o3d.core.Tensor(np.asarray(mesh.vertices - self.centre, np.float32)),
            o3d.core.Tensor(self.faces.astype(np.uint32)))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        q = o3d.core.Tensor(np.asarray(points - self.centre, np.float32))
        hit = self.scene.compute_closest_points(q)
        tri = self.faces[hit["primitive_ids"].numpy().astype(np.int64)]
        b = hit["primitive_uvs"].numpy().astype(np.float64)
        w = np.c_[1.0 - b.sum(axis=1), b]            # weights of the triangle's 3 vertices
        return np.einsum("ij,ijk->ik", w, self.uv[tri]).astype(np.float32)


def decimate(mesh: Mesh, target_faces: int, aggressiveness: float = 7.0,
             preserve_border: bool = False, uv_lookup: SurfaceUV | None = None) -> Mesh:
    """Quadric decimation of ``mesh`` to about ``target_faces`` faces, carrying colours and UVs.

    Positions are decimated in float64 (fast-simplification's native type; site-frame values).
    ``uv_lookup`` (built once from the full-resolution mesh) is where UVs are read from.
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
    out = Mesh(vertices=pts, faces=tri, crs=mesh.crs, frame=mesh.frame,
               texture=mesh.texture, source=mesh.source)

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
    if mesh.uv is not None:
        out.uv = (uv_lookup or SurfaceUV(mesh))(pts)
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


def make_lods(mesh: Mesh, fractions: Sequence[float] = (1.0, 0.25, 0.05),
              aggressiveness: float = 7.0, preserve_border: bool | None = None,
              texture_size: int | None = None) -> list[Mesh]:
    """One mesh per fraction of ``mesh``'s face count (lod0 first).

    Each level is decimated from the previous one, not from lod0: the 5 % level then starts
    from 25 % of the faces (~4x less work) at a quality cost too small to see at the distance
    it is shown.  ``preserve_border=None`` keeps open borders only for textured meshes, whose UV
    seams are borders (collapsing them would crack the texture).  ``texture_size`` caps lod0's
    texture edge; each further level halves the cap (not below 256 px).
    """
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ProcessingError(f"LOD fractions must be in (0, 1], got {list(fractions)}")
    if preserve_border is None:
        preserve_border = mesh.uv is not None
    if mesh.normals is None:
        mesh = dataclasses.replace(mesh, normals=vertex_normals(mesh.vertices, mesh.faces))
    n0 = mesh.n_faces
    uv_lookup = SurfaceUV(mesh) if mesh.uv is not None and len(fractions) > 1 else None
    lods: list[Mesh] = []
    prev = mesh
    for f in fractions:
        target = max(1, round(f * n0))
        lod = decimate(prev, target, aggressiveness, preserve_border, uv_lookup)
        miss = abs(lod.n_faces - target) / target
        if miss > TARGET_TOLERANCE:
            log.warning("LOD %.3f: %d faces for a target of %d (%.0f %% off)%s", f,
                        lod.n_faces, target, 100 * miss,
                        "; open borders/UV seams limit the reduction" if preserve_border else "")
        prev = lod
        if texture_size is not None:
            lod = limit_texture(lod, max(256, texture_size >> len(lods)))
        lods.append(lod)
    return lods
