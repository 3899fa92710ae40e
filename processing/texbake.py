"""Textures for decimated levels of detail: a new UV atlas per level, baked from lod0.

Why not keep lod0's UVs: a textured mesh is split at its UV seams (one vertex per position and
chart), so a decimator either sees every seam as an open border (and keeps them: fuze's 5 % level
kept 328 of 1,000 faces) or collapses across them and gives a vertex UVs from the wrong chart
(34 % of surface samples off by more than 60/255 on fuze).  Instead the geometry is decimated
welded (seams do not exist for it), every level gets its own atlas (xatlas), and each texel of
that atlas is coloured from lod0: the texel's point on the level's surface -> the closest point
of lod0 -> lod0's UV there -> lod0's texture, bilinearly.  The atlas is sized to the level
(``texture_side``), so coarse levels carry small textures.

``colour_difference`` is the check: sample lod0's surface, look up the colour each level shows
at the same place, compare.
"""

from __future__ import annotations

import numpy as np
import open3d as o3d
import xatlas
from scipy import ndimage

from processing.meshclean import vertex_normals
from processing.types import Mesh

#: texels between charts, so bilinear filtering and mipmaps do not mix neighbouring charts
PADDING = 2


class SurfaceLookup:
    """Closest point on a mesh for arbitrary 3D points: triangle ids and barycentric weights."""

    def __init__(self, mesh: Mesh):
        self.centre = np.asarray(mesh.vertices, np.float64).mean(axis=0)
        self.faces = np.asarray(mesh.faces, np.int64)
        self.scene = o3d.t.geometry.RaycastingScene()
        self.scene.add_triangles(
            o3d.core.Tensor(np.asarray(mesh.vertices - self.centre, np.float32)),
            o3d.core.Tensor(self.faces.astype(np.uint32)))

    def closest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(corner vertex ids (n, 3), barycentric weights (n, 3)) of the closest points."""
        q = o3d.core.Tensor(np.asarray(points - self.centre, np.float32))
        hit = self.scene.compute_closest_points(q)
        tri = self.faces[hit["primitive_ids"].numpy().astype(np.int64)]
        b = hit["primitive_uvs"].numpy().astype(np.float64)
        return tri, np.c_[1.0 - b.sum(axis=1), b]

    def uv(self, points: np.ndarray, uv: np.ndarray) -> np.ndarray:
        tri, w = self.closest(points)
        return np.einsum("ij,ijk->ik", w, np.asarray(uv, np.float64)[tri])


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear colours (float64, one row per uv) of ``texture`` at glTF-convention ``uv``."""
    h, w = texture.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip(uv[:, 1] * h - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    t = texture.astype(np.float64)
    top = t[y0, x0] * (1 - fx) + t[y0, x1] * fx
    bottom = t[y1, x0] * (1 - fx) + t[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def texture_side(lod0_side: int, fraction: float, minimum: int = 64) -> int:
    """Atlas edge for a level with ``fraction`` of lod0's faces: the texel count scales with the
    face count (edge with its square root), rounded up to a power of two."""
    want = max(minimum, lod0_side * fraction ** 0.5)
    return int(min(max(minimum, lod0_side), 1 << int(np.ceil(np.log2(want)))))


def bake(geometry: Mesh, reference: Mesh, side: int,
         lookup: SurfaceLookup | None = None) -> Mesh:
    """``geometry`` (welded, untextured) with a new UV atlas and a ``side``-pixel texture baked
    from the textured ``reference`` (lod0).  Vertices are split at the new atlas's seams;
    normals come from the welded surface, so shading shows no seams."""
    verts = np.asarray(geometry.vertices, np.float64)
    faces = np.asarray(geometry.faces, np.int64)
    vmap, new_faces, uv = _atlas(verts, faces, side)

    normals = geometry.normals if geometry.normals is not None else vertex_normals(verts, faces)
    out = Mesh(vertices=verts[vmap], faces=new_faces.astype(faces.dtype), crs=geometry.crs,
               frame=geometry.frame, normals=np.asarray(normals, np.float32)[vmap],
               uv=np.asarray(uv, np.float32), source=geometry.source,
               texture_format=reference.texture_format,
               vertex_colors=None if geometry.vertex_colors is None
               else geometry.vertex_colors[vmap])
    out.texture = _bake_texture(out, reference, side, side, lookup or SurfaceLookup(reference))
    return out


def _atlas(verts: np.ndarray, faces: np.ndarray, side: int) -> tuple[np.ndarray, ...]:
    """(vertex map, faces, uv) of an xatlas atlas laid into one ``side``-pixel square.

    Texel density comes from the surface area (xatlas's own estimate left 85 % of fuze's
    square empty); xatlas packs at that density into one atlas of whatever size it needs, which
    is then scaled into the square.  Charts are capped at 1/64 of the area and grown in one
    pass: xatlas spends minutes on one huge flat chart (a 20,000-face grid: 100 s, capped:
    3 s)."""
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]),
                                axis=1).sum()
    charts = xatlas.ChartOptions()
    charts.max_chart_area = float(area / 64)
    charts.max_iterations = 1
    pack = xatlas.PackOptions()
    pack.texels_per_unit = float(side * 0.8 / np.sqrt(max(area, 1e-12)))  # ~64 % use
    pack.padding = PADDING
    pack.bilinear = True
    pack.blockAlign = True
    atlas = xatlas.Atlas()
    atlas.add_mesh(np.asarray(verts - verts.mean(axis=0), np.float32), faces.astype(np.uint32))
    atlas.generate(chart_options=charts, pack_options=pack)
    vmap, new_faces, uv = atlas.get_mesh(0)
    w, h = max(1, atlas.width), max(1, atlas.height)
    uv = np.asarray(uv, np.float64) * (np.array([w, h]) / max(w, h))   # into the square
    return vmap.astype(np.int64), new_faces, uv.astype(np.float32)


def _bake_texture(mesh: Mesh, reference: Mesh, width: int, height: int,
                  lookup: SurfaceLookup) -> np.ndarray:
    # Rasterise the atlas by casting one ray per texel centre onto the UV triangles laid flat.
    flat = np.c_[mesh.uv[:, 0] * width, mesh.uv[:, 1] * height, np.zeros(len(mesh.uv))]
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(flat.astype(np.float32)),
                        o3d.core.Tensor(np.asarray(mesh.faces, np.uint32)))
    ys, xs = np.mgrid[0:height, 0:width]
    rays = np.zeros((height * width, 6), np.float32)
    rays[:, 0], rays[:, 1], rays[:, 2], rays[:, 5] = xs.ravel() + 0.5, ys.ravel() + 0.5, 1, -1
    hit = scene.cast_rays(o3d.core.Tensor(rays))
    prim = hit["primitive_ids"].numpy().astype(np.int64)
    covered = prim != o3d.t.geometry.RaycastingScene.INVALID_ID
    channels = reference.texture.shape[2]
    texture = np.zeros((height * width, channels), np.uint8)
    if covered.any():
        tri = np.asarray(mesh.faces, np.int64)[prim[covered]]
        b = hit["primitive_uvs"].numpy()[covered].astype(np.float64)
        w = np.c_[1.0 - b.sum(axis=1), b]
        points = np.einsum("ij,ijk->ik", w, np.asarray(mesh.vertices, np.float64)[tri])
        ref_uv = lookup.uv(points, reference.uv)
        colour = sample_texture(reference.texture, ref_uv)
        texture[covered] = np.clip(np.rint(colour), 0, 255).astype(np.uint8)
        # Texels outside every chart take their nearest chart texel's colour (gutter fill).
        _, (iy, ix) = ndimage.distance_transform_edt(~covered.reshape(height, width),
                                                     return_indices=True)
        texture = texture.reshape(height, width, channels)[iy, ix]
    return texture.reshape(height, width, channels)


def colour_difference(reference: Mesh, mesh: Mesh, samples: int = 20000,
                      seed: int = 0) -> np.ndarray:
    """Per-sample largest channel difference (0..255) between the colour ``reference`` shows at
    random points of its surface (area-weighted) and the colour ``mesh`` shows at its closest
    points; both meshes textured."""
    v = np.asarray(reference.vertices, np.float64)
    f = np.asarray(reference.faces, np.int64)
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]),
                                axis=1)
    rng = np.random.default_rng(seed)
    face = rng.choice(len(f), size=samples, p=area / area.sum())
    r = rng.random((samples, 2))
    r[r.sum(axis=1) > 1] = 1 - r[r.sum(axis=1) > 1]
    w = np.c_[1 - r.sum(axis=1), r]
    points = np.einsum("ij,ijk->ik", w, v[f[face]])
    ref_uv = np.einsum("ij,ijk->ik", w, np.asarray(reference.uv, np.float64)[f[face]])
    want = sample_texture(reference.texture, ref_uv)[:, :3]
    got = sample_texture(mesh.texture, SurfaceLookup(mesh).uv(points, mesh.uv))[:, :3]
    return np.abs(got - want).max(axis=1)
