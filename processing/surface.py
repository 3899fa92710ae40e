"""Surface reconstruction: points in, triangle mesh out (site frame, float64 vertices).

Three methods, chosen by the preset:

- ``delaunay25d`` — scipy's Delaunay on XY with the points' own z (the airborne choice: a
  height field), triangles with an XY edge longer than ``delaunay_max_edge`` dropped so gaps in
  the coverage stay gaps.
- ``poisson`` — Open3D screened Poisson, vertices below a density quantile trimmed (they lie
  far from any sample), cropped to the cloud's bounding box; colours by nearest point.
- ``bpa`` — Open3D ball pivoting with radii from the mean nearest-neighbour spacing; it keeps
  the input points as vertices and leaves true holes open.
"""

from __future__ import annotations

import logging

import numpy as np
import open3d as o3d
from pykdtree.kdtree import KDTree
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import (
    breadth_first_order,
    connected_components,
    minimum_spanning_tree,
)
from scipy.spatial import Delaunay

from processing.errors import ProcessingError
from processing.meshclean import compact, index_dtype, vertex_normals
from processing.presets import Preset
from processing.types import Mesh, PointCloud

log = logging.getLogger(__name__)

# o3d.t's hybrid normal search is faster than the legacy one when few points lie inside the
# radius but far slower when many do (it gathers them all before keeping max_nn): on 1M
# city-block points, r=0.25 m (~6 neighbours) t 4.3 s vs legacy 16.6 s; r=2 m (~235) t 83 s vs
# legacy 7.8 s.  Above this many expected neighbours per max_nn the legacy search is used.
_T_NORMALS_MAX_RATIO = 3.0
_SAMPLE = 200_000


def _expected_neighbours(xyz: np.ndarray, radius: float) -> float:
    """Rough number of points within ``radius`` of a point: point-weighted mean occupancy of
    radius-sized voxels (on a strided sample), times ~pi for a sampled surface."""
    step = max(1, len(xyz) // _SAMPLE)
    sample = xyz[::step]
    keys = np.floor((sample - sample.min(axis=0)) / radius).astype(np.int64)
    dims = keys.max(axis=0) + 1
    packed = (keys[:, 0] * dims[1] + keys[:, 1]) * dims[2] + keys[:, 2]
    _, counts = np.unique(packed, return_counts=True)
    per_voxel = float((counts.astype(np.float64) ** 2).sum() / counts.sum()) * step
    return np.pi * per_voxel


def estimate_normals(xyz: np.ndarray, radius: float, max_nn: int,
                     orientation: str = "up") -> np.ndarray:
    """Unit normals (float32) from a hybrid radius/k-NN PCA, oriented towards +z ("up"),
    consistently along a minimum spanning tree ("tangent", see :func:`orient_normals_mst`) or
    not at all ("none")."""
    c = xyz.mean(axis=0)
    local = np.ascontiguousarray(xyz - c, dtype=np.float64)
    if _expected_neighbours(local, radius) <= _T_NORMALS_MAX_RATIO * max_nn:
        tp = o3d.t.geometry.PointCloud(o3d.core.Tensor(local))
        tp.estimate_normals(max_nn=max_nn, radius=radius)
        n = tp.point.normals.numpy()
    else:
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(local))
        pcd.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=radius, max_nn=max_nn))
        n = np.asarray(pcd.normals)
    if orientation == "up":
        n = np.where(n[:, 2:3] < 0, -n, n)
    elif orientation == "tangent":
        n = orient_normals_mst(local, n)
    elif orientation != "none":
        raise ProcessingError(f"unknown normal orientation {orientation!r}")
    return n.astype(np.float32)


def orient_normals_mst(xyz: np.ndarray, normals: np.ndarray, k: int = 8) -> np.ndarray:
    """Consistent normal orientation (Hoppe et al. 1992) without Open3D's Qhull step.

    Open3D's ``orient_normals_consistent_tangent_plane`` builds a 3D Delaunay graph that fails
    on degenerate input (co-spherical or planar samples raise Qhull precision errors) and took
    ~60 s per 1M points; here a k-NN graph (pykdtree) weighted by 1 - |n_i . n_j| gets a
    minimum spanning tree (scipy), and each point's flip relative to its tree root is the
    product of the edge signs on its path, computed by pointer jumping (O(log depth) array
    passes, no per-point loop).  Each connected component then gets one global sign: mostly
    "up" where its normals clearly lean up or down (terrain, city scenes), otherwise "away
    from the component's centroid" (closed objects).
    """
    n = len(xyz)
    pts = np.ascontiguousarray(xyz - xyz.mean(axis=0), dtype=np.float32)
    k = min(k, n - 1)
    _, idx = KDTree(pts, leafsize=16).query(pts, k=k + 1)
    i = np.repeat(np.arange(n), k)
    j = idx[:, 1:].ravel().astype(np.int64)
    nrm = np.asarray(normals, dtype=np.float64)
    # a tiny floor: csgraph treats a weight of 0 as a missing edge
    w = 1.0 - np.abs(np.einsum("ij,ij->i", nrm[i], nrm[j])) + 1e-6
    mst = minimum_spanning_tree(csr_matrix((w, (i, j)), shape=(n, n))).tocoo()
    n_comp, label = connected_components(mst, directed=False)
    _, roots = np.unique(label, return_index=True)
    # one virtual node above all component roots gives a single BFS over the whole forest
    r = np.concatenate([mst.row, np.full(n_comp, n)])
    c = np.concatenate([mst.col, roots])
    tree = csr_matrix((np.ones(len(r)), (r, c)), shape=(n + 1, n + 1))
    _, pred = breadth_first_order(tree, n, directed=False, return_predecessors=True)
    parent = pred[:n].astype(np.int64)
    parent[roots] = roots
    sign = np.sign(np.einsum("ij,ij->i", nrm, nrm[parent]))
    sign[(sign == 0) | (parent == np.arange(n))] = 1.0
    while True:                                  # pointer jumping: sign relative to the root
        grand = parent[parent]
        sign *= np.where(parent == grand, 1.0, sign[parent])
        if np.array_equal(grand, parent):
            break
        parent = grand
    nrm = nrm * sign[:, None]
    # one sign per component
    cnt = np.bincount(label, minlength=n_comp).astype(np.float64)
    up = np.bincount(label, nrm[:, 2], minlength=n_comp)
    absz = np.bincount(label, np.abs(nrm[:, 2]), minlength=n_comp)
    centre = np.stack([np.bincount(label, pts[:, a], minlength=n_comp) for a in range(3)],
                      axis=1) / cnt[:, None]
    out = np.bincount(label, np.einsum("ij,ij->i", nrm, pts - centre[label]), minlength=n_comp)
    leaning = np.abs(up) > 0.2 * np.maximum(absz, 1e-12)
    flip = np.where(leaning, up < 0, out < 0)
    return np.where(flip[label][:, None], -nrm, nrm)


def rgb_to_rgba8(rgb: np.ndarray) -> np.ndarray:
    """LAS-style 16-bit RGB -> glTF RGBA8.  Many files store 8-bit values in the 16-bit
    fields; those are taken as they are instead of turning black."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        c = rgb
    elif rgb.size and int(rgb.max()) <= 255:
        c = rgb.astype(np.uint8)
    else:
        c = (rgb.astype(np.uint32) >> 8).astype(np.uint8)
    return np.concatenate([c[:, :3], np.full((len(c), 1), 255, np.uint8)], axis=1)


def mean_spacing(xyz: np.ndarray) -> float:
    """Mean distance from a point to its nearest neighbour (strided sample for large clouds)."""
    local = np.ascontiguousarray(xyz - xyz.mean(axis=0), dtype=np.float32)
    step = max(1, len(local) // _SAMPLE)
    d, _ = KDTree(local, leafsize=16).query(local[::step], k=2)
    return float(d[:, 1].mean())


def _normals_for(cloud: PointCloud, preset: Preset) -> np.ndarray:
    if cloud.normals is not None:
        return np.asarray(cloud.normals, dtype=np.float64)
    return estimate_normals(cloud.xyz, preset.normal_radius, preset.normal_max_nn,
                            preset.normal_orientation)


def _colours_by_nearest(vertices: np.ndarray, cloud: PointCloud) -> np.ndarray | None:
    if cloud.rgb is None:
        return None
    c = cloud.xyz.mean(axis=0)
    tree = KDTree(np.ascontiguousarray(cloud.xyz - c, dtype=np.float32), leafsize=16)
    _, idx = tree.query(np.ascontiguousarray(vertices - c, dtype=np.float32), k=1)
    return rgb_to_rgba8(cloud.rgb[idx.astype(np.int64)])


def poisson(cloud: PointCloud, preset: Preset) -> Mesh:
    """Screened Poisson at ``preset.poisson_depth``; low-density trim; crop to the cloud's box."""
    c = cloud.xyz.mean(axis=0)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.xyz - c))
    pcd.normals = o3d.utility.Vector3dVector(_normals_for(cloud, preset).astype(np.float64))
    tm, dens = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
        pcd, depth=preset.poisson_depth, n_threads=-1)
    verts = np.asarray(tm.vertices) + c
    faces = np.asarray(tm.triangles).astype(np.int64)
    if len(faces) == 0:
        raise ProcessingError("Poisson reconstruction produced no surface; check the normals "
                              "(normal_radius, normal_orientation) or lower poisson_depth")
    keep = np.ones(len(verts), dtype=bool)
    q = preset.poisson_density_quantile
    if q > 0:
        d = np.asarray(dens)
        keep &= d >= np.quantile(d, q)
    lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    keep &= np.all((verts >= lo) & (verts <= hi), axis=1)
    mesh = compact(Mesh(vertices=verts, faces=faces, crs=cloud.crs, frame=cloud.frame),
                   faces, keep)
    mesh.vertex_colors = _colours_by_nearest(mesh.vertices, cloud)
    mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
    return mesh


def ball_pivoting(cloud: PointCloud, preset: Preset) -> Mesh:
    """Ball pivoting with radii = ``bpa_radius_factors`` x mean nearest-neighbour spacing."""
    spacing = mean_spacing(cloud.xyz)
    radii = [f * spacing for f in preset.bpa_radius_factors]
    c = cloud.xyz.mean(axis=0)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.xyz - c))
    pcd.normals = o3d.utility.Vector3dVector(_normals_for(cloud, preset).astype(np.float64))
    tm = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(
        pcd, o3d.utility.DoubleVector(radii))
    verts = np.asarray(tm.vertices) + c
    faces = np.asarray(tm.triangles).astype(np.int64)
    if len(faces) == 0:
        raise ProcessingError(f"ball pivoting made no triangles with radii {radii}; raise "
                              "bpa_radius_factors or check normal_radius")
    mesh = Mesh(vertices=verts, faces=faces, crs=cloud.crs, frame=cloud.frame)
    if cloud.rgb is not None and len(verts) == len(cloud):   # BPA keeps the input points
        mesh.vertex_colors = rgb_to_rgba8(cloud.rgb)
    else:
        mesh.vertex_colors = _colours_by_nearest(verts, cloud)
    mesh = compact(mesh, faces)
    mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
    return mesh


def highest_per_cell(xyz: np.ndarray, cell: float) -> np.ndarray:
    """Indices of the highest point in each XY cell (a digital surface model sample)."""
    k = np.floor((xyz[:, :2] - xyz[:, :2].min(axis=0)) / cell).astype(np.int64)
    key = k[:, 0] * (k[:, 1].max() + 1) + k[:, 1]
    order = np.lexsort((-xyz[:, 2], key))
    sk = key[order]
    first = np.concatenate(([True], sk[1:] != sk[:-1]))
    return np.sort(order[first])


def delaunay25d(cloud: PointCloud, preset: Preset) -> Mesh:
    """2.5D Delaunay of XY with z from the points; long-edged triangles dropped."""
    idx = (highest_per_cell(cloud.xyz, preset.delaunay_xy_cell)
           if preset.delaunay_xy_cell > 0 else None)
    pts = cloud.xyz if idx is None else cloud.xyz[idx]
    xy = pts[:, :2] - pts[:, :2].mean(axis=0)
    try:
        tri = Delaunay(xy).simplices
    except Exception as exc:  # Qhull raises its own error type for flat/collinear input
        raise ProcessingError(f"2.5D triangulation failed ({exc}); the points may be "
                              "collinear or too few") from exc
    tri = tri.astype(np.int64, copy=False)
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    lim2 = preset.delaunay_max_edge ** 2
    short = ((np.einsum("ij,ij->i", b - a, b - a) <= lim2)
             & (np.einsum("ij,ij->i", c - b, c - b) <= lim2)
             & (np.einsum("ij,ij->i", a - c, a - c) <= lim2))
    tri = tri[short]
    # Qhull does not promise an orientation: make every triangle counter-clockwise in XY so
    # normals point up
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    cw = ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
          - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])) < 0
    tri[cw] = tri[cw][:, ::-1]
    if len(tri) == 0:
        raise ProcessingError(f"2.5D triangulation kept no triangle with delaunay_max_edge="
                              f"{preset.delaunay_max_edge} m; raise it above the point spacing")
    rgb = cloud.rgb if idx is None or cloud.rgb is None else cloud.rgb[idx]
    mesh = Mesh(vertices=pts, faces=tri, crs=cloud.crs, frame=cloud.frame,
                vertex_colors=None if rgb is None else rgb_to_rgba8(rgb))
    mesh = compact(mesh, tri)     # Qhull skips duplicate XY points: drop them as vertices
    mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
    return mesh


_METHODS = {"poisson": poisson, "bpa": ball_pivoting, "delaunay25d": delaunay25d}


def reconstruct(cloud: PointCloud, preset: Preset) -> Mesh:
    """Mesh ``cloud`` with ``preset.surface_method``; vertices float64, faces int32."""
    if len(cloud) < 3:
        raise ProcessingError(f"cannot build a surface from {len(cloud)} point(s)")
    try:
        method = _METHODS[preset.surface_method]
    except KeyError:
        raise ProcessingError(f"unknown surface method {preset.surface_method!r}; "
                              f"valid: {', '.join(_METHODS)}") from None
    mesh = method(cloud, preset)
    mesh.faces = mesh.faces.astype(index_dtype(len(mesh.vertices)), copy=False)
    log.info("%s surface: %d vertices, %d faces", preset.surface_method,
             len(mesh.vertices), mesh.n_faces)
    return mesh
