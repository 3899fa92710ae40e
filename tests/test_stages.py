"""Pipeline stages on generated data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from processing import texbake
from processing.clean import (
    clean_points,
    crop_to_polygon,
    drop_classes,
    points_in_polygon,
    remove_statistical_outliers,
    voxel_downsample,
)
from processing.errors import ProcessingError, RegistrationError
from processing.lod import make_lods
from processing.meshclean import clean_mesh, vertex_normals
from processing.presets import get_preset
from processing.register import apply_transform, register
from processing.surface import estimate_normals, reconstruct
from processing.types import Mesh, PointCloud


def rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])


def rot_axis(axis, deg: float) -> np.ndarray:
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.radians(deg)
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def grid_mesh(n: int, size: float = 10.0) -> Mesh:
    """A wavy (n x n)-vertex height field with colours (red for x < size/2) and UVs."""
    x, y = np.meshgrid(np.linspace(0, size, n), np.linspace(0, size, n), indexing="ij")
    z = 0.3 * np.sin(x) * np.cos(y)
    v = np.c_[x.ravel(), y.ravel(), z.ravel()]
    i = np.arange(n - 1)
    a = (i[:, None] * n + i[None, :]).ravel()
    faces = np.r_[np.c_[a, a + n, a + 1], np.c_[a + 1, a + n, a + n + 1]]
    col = np.where((v[:, 0] < size / 2)[:, None], [255, 0, 0, 255], [0, 0, 255, 255])
    uv = (v[:, :2] / size).astype(np.float32)
    return Mesh(vertices=v, faces=faces.astype(np.int32), frame="site",
                vertex_colors=col.astype(np.uint8), uv=uv)


# --- cleaning ---------------------------------------------------------------------------

def test_crop_keeps_exactly_the_inside_points():
    rng = np.random.default_rng(1)
    xyz = np.c_[rng.uniform(-10, 110, (100_000, 2)), rng.normal(0, 1, 100_000)]
    cloud = PointCloud(xyz=xyz, frame="site", classification=np.full(100_000, 2, np.uint8))
    # concave L-shape (closed ring, clockwise) with a square hole
    outer = np.array([[0, 0], [0, 100], [40, 100], [40, 40], [100, 40], [100, 0], [0, 0]])
    hole = np.array([[10, 10], [20, 10], [20, 20], [10, 20]])
    x, y = xyz[:, 0], xyz[:, 1]
    in_l = ((x > 0) & (x < 40) & (y > 0) & (y < 100)) | ((x > 0) & (x < 100) & (y > 0)
                                                         & (y < 40))
    in_hole = (x > 10) & (x < 20) & (y > 10) & (y < 20)
    expected = in_l & ~in_hole
    np.testing.assert_array_equal(points_in_polygon(xyz[:, :2], [outer, hole]), expected)
    out, removed = crop_to_polygon(cloud, [outer, hole])
    assert removed == 100_000 - expected.sum()
    np.testing.assert_array_equal(out.xyz, xyz[expected])
    assert len(out.classification) == len(out)
    with pytest.raises(ProcessingError, match="site frame"):
        crop_to_polygon(PointCloud(xyz=xyz), outer)


def test_drop_noise_classes():
    cls = np.array([2, 7, 6, 18, 7, 1], np.uint8)
    cloud = PointCloud(xyz=np.zeros((6, 3)), frame="site", classification=cls)
    out, removed = drop_classes(cloud, (7, 18))
    assert removed == 3 and out.classification.tolist() == [2, 6, 1]
    assert drop_classes(PointCloud(xyz=np.zeros((3, 3))), (7,))[1] == 0


def test_voxel_downsampling_of_a_grid():
    # 40^3 grid, spacing 0.1, offset by half a spacing so no point sits on a voxel face
    g = (np.arange(40) + 0.5) * 0.1
    xyz = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    n = len(xyz)
    rgb = np.zeros((n, 3), np.uint16)
    ix = np.rint(xyz[:, 0] / 0.1 - 0.5).astype(int) % 5
    rgb[:, 0] = 1000 + 500 * ix                            # 1000..3000 per voxel: mean 2000
    cls = np.where(np.arange(n) % 5 == 0, 6, 2).astype(np.uint8)  # majority 2
    cloud = PointCloud(xyz=xyz, frame="site", rgb=rgb, classification=cls,
                       intensity=np.full(n, 7, np.uint16), extra={"gps": np.arange(n) * 1.0})
    out, removed = voxel_downsample(cloud, 0.5)
    assert len(out) == 8**3 and removed == n - 8**3
    # each voxel mean sits at the centre of its 5x5x5 block
    np.testing.assert_allclose(np.sort(np.unique(out.xyz[:, 0].round(6))),
                               0.25 + 0.5 * np.arange(8), atol=1e-9)
    assert np.all(out.rgb[:, 0] == 2000)
    assert np.all(out.classification == 2) and np.all(out.intensity == 7)
    assert out.extra["gps"].shape == (8**3,)
    assert voxel_downsample(cloud, 0.0)[1] == 0


def test_voxel_majority_class_on_mixed_voxels():
    xyz = np.array([[0.1, 0.1, 0.1]] * 3 + [[0.2, 0.2, 0.2]] * 2 + [[5.0, 5, 5]])
    cls = np.array([6, 2, 6, 2, 6, 9], np.uint8)    # voxel A: 6,2,6,2,6 -> 6; voxel B: 9
    out, removed = voxel_downsample(PointCloud(xyz=xyz, frame="site", classification=cls), 1.0)
    assert removed == 4
    assert sorted(out.classification.tolist()) == [6, 9]


def test_statistical_outlier_removal_drops_planted_outliers():
    rng = np.random.default_rng(2)
    plane = np.c_[rng.uniform(0, 20, (50_000, 2)), rng.normal(0, 0.005, 50_000)]
    outliers = np.c_[rng.uniform(0, 20, (200, 2)), rng.uniform(2, 10, 200)]
    cloud = PointCloud(xyz=np.r_[plane, outliers], frame="site")
    out, removed = remove_statistical_outliers(cloud, 20, 2.0)
    assert not np.any(out.xyz[:, 2] > 1.0)               # every planted outlier is gone
    assert 200 <= removed < 200 + 0.01 * len(plane)       # and almost no inlier


def test_clean_points_reports_every_stage():
    rng = np.random.default_rng(3)
    xyz = np.c_[rng.uniform(0, 10, (20_000, 2)), rng.normal(0, 0.01, 20_000)]
    cls = np.where(np.arange(20_000) < 100, 7, 2).astype(np.uint8)
    cloud = PointCloud(xyz=xyz, frame="site", classification=cls)
    box = np.array([[0, 0], [5, 0], [5, 10], [0, 10]])
    out, stats = clean_points(cloud, get_preset("als", {"voxel_size": 0.5}), boundary=box)
    assert stats["points_in"] == 20_000 and stats["points_out"] == len(out)
    assert {"outside_boundary", "noise_class", "statistical_outliers", "voxel_merged"} <= set(
        stats)
    assert 9000 < stats["outside_boundary"] < 11000
    assert len(out) <= 10 * 20                             # one point per 0.5 m cell
    with pytest.raises(ProcessingError, match="no points left"):
        clean_points(cloud, get_preset("als"), boundary=box + 100)


# --- registration ------------------------------------------------------------------------

def scene(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ground, three boxes at different angles and a pitched roof: every DOF constrained."""
    parts = [np.c_[rng.uniform(-30, 30, (n, 2)), np.zeros(n)]]
    for cx, cy, w, h, ang in ((-10, 5, 8, 6, 0), (12, -8, 6, 10, 30), (5, 15, 5, 4, -15)):
        m = n // 3
        u, s = rng.uniform(-w / 2, w / 2, m), rng.uniform(0, h, m)
        side = rng.integers(0, 4, m)
        local = np.where(side[:, None] < 2,
                         np.c_[u, np.where(side == 0, -w / 2, w / 2), s],
                         np.c_[np.where(side == 2, -w / 2, w / 2), u, s])
        parts.append(local @ rot_z(ang).T + [cx, cy, 0])
    m = n // 2
    u, v = rng.uniform(-6, 6, m), rng.uniform(0, 4, m)
    parts.append(np.c_[u - 15, np.where(v < 2, v - 20, 4 - v - 18), 6 + np.minimum(v, 4 - v)])
    return np.concatenate(parts)


def test_registration_recovers_a_small_shift_and_rotation():
    rng = np.random.default_rng(4)
    ref = scene(rng, 40_000)
    mov_true = scene(rng, 40_000)                         # an independent sampling
    mov_true += rng.normal(0, 0.003, mov_true.shape)
    ref += rng.normal(0, 0.003, ref.shape)
    r = rot_axis([0.3, -0.2, 1.0], 0.2)
    shift = np.array([0.05, -0.03, 0.02])
    mov = mov_true @ r.T + shift                          # what the moving epoch's file says
    origin_offset = np.array([120.0, -80.0, 35.0])         # not centred on the site origin
    preset = get_preset("tls", {"icp_voxel_size": 0.2, "icp_max_distance": 0.5,
                                "normal_radius": 0.6})
    res = register(PointCloud(xyz=mov + origin_offset, frame="site"),
                   PointCloud(xyz=ref + origin_offset, frame="site"), preset)
    fixed = apply_transform(PointCloud(xyz=mov_true @ r.T + shift + origin_offset,
                                       frame="site"), res.transform)
    err = np.linalg.norm(fixed.xyz - (mov_true + origin_offset), axis=1)
    assert err.max() < 0.005, err.max()
    assert res.inlier_rmse < 0.02 and res.fitness > 0.9          # point-to-plane, 3 mm noise
    assert res.method == "stable-area-trimmed-icp-point-to-plane" and res.iterations >= 1
    assert res.significant and res.mode == "icp"
    d = res.to_dict()
    assert abs(d["rotation_deg"] - 0.2) < 0.02 and len(d["transform"]) == 4

    with pytest.raises(RegistrationError, match=r"RMSE .* > icp_rmse_limit 0\.0001 m"):
        register(PointCloud(xyz=mov, frame="site"), PointCloud(xyz=ref, frame="site"),
                 preset.replace(icp_rmse_limit=0.0001))
    forced = register(PointCloud(xyz=mov, frame="site"), PointCloud(xyz=ref, frame="site"),
                      preset.replace(icp_rmse_limit=0.0001), force=True)
    assert forced.accepted_by_force


def test_coarse_registration_handles_a_large_offset():
    rng = np.random.default_rng(5)
    ref = scene(rng, 8_000)
    mov_true = scene(rng, 8_000)
    r, shift = rot_z(25.0), np.array([2.0, -1.5, 0.3])
    mov = mov_true @ r.T + shift
    preset = get_preset("tls", {"icp_voxel_size": 0.3, "icp_max_distance": 0.6,
                                "normal_radius": 0.8, "coarse_voxel_size": 1.0,
                                "icp_rmse_limit": 0.2})
    res = register(PointCloud(xyz=mov, frame="site"), PointCloud(xyz=ref, frame="site"),
                   preset, coarse=True)
    back = apply_transform(PointCloud(xyz=mov, frame="site"), res.transform).xyz
    assert np.median(np.linalg.norm(back - mov_true, axis=1)) < 0.05
    assert res.method.startswith("fpfh-ransac")


def test_apply_transform_moves_mesh_and_normals():
    m = grid_mesh(5)
    m.normals = vertex_normals(m.vertices, m.faces)
    t = np.eye(4)
    t[:3, :3] = rot_z(90)
    t[:3, 3] = [1, 2, 3]
    out = apply_transform(m, t)
    np.testing.assert_allclose(out.vertices, m.vertices @ rot_z(90).T + [1, 2, 3])
    np.testing.assert_allclose(out.normals, m.normals @ rot_z(90).T, atol=1e-6)
    assert out.vertex_colors is m.vertex_colors


# --- surfaces ----------------------------------------------------------------------------

def sphere_cloud(n: int, radius: float, centre, rng) -> PointCloud:
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    rgb = np.zeros((n, 3), np.uint16)
    rgb[:, 0] = np.where(v[:, 2] > 0, 65535, 0)
    return PointCloud(xyz=v * radius + centre, frame="site", rgb=rgb)


def test_poisson_sphere_radius_and_colours():
    rng = np.random.default_rng(6)
    centre = np.array([30.0, -20.0, 8.0])
    cloud = sphere_cloud(15_000, 2.0, centre, rng)
    preset = get_preset("tls", {"poisson_depth": 7, "normal_radius": 0.3,
                                "poisson_density_quantile": 0.01})
    mesh = reconstruct(cloud, preset)                      # normals estimated + MST-oriented
    r = np.linalg.norm(mesh.vertices - centre, axis=1)
    assert abs(r.mean() - 2.0) / 2.0 < 0.02 and r.max() < 2.04 and r.min() > 1.96
    assert mesh.faces.dtype == np.int32 and mesh.normals.shape == mesh.vertices.shape
    outward = np.einsum("ij,ij->i", mesh.normals, mesh.vertices - centre) > 0
    assert outward.mean() > 0.99
    top = mesh.vertices[:, 2] > centre[2] + 0.2
    assert np.all(mesh.vertex_colors[top, 0] == 255)      # colour by nearest point
    assert np.all(mesh.vertex_colors[mesh.vertices[:, 2] < centre[2] - 0.2, 0] == 0)


def test_tangent_orientation_is_consistent_on_a_closed_surface():
    rng = np.random.default_rng(7)
    cloud = sphere_cloud(5_000, 1.0, np.zeros(3), rng)
    n = estimate_normals(cloud.xyz, 0.3, 20, "tangent")
    assert (np.einsum("ij,ij->i", n, cloud.xyz) > 0).mean() == 1.0
    up = estimate_normals(cloud.xyz, 0.3, 20, "up")
    assert np.all(up[:, 2] >= 0)


def terrain_with_gap(spacing: float = 0.5) -> PointCloud:
    g = np.arange(0, 40 + 1e-9, spacing)
    x, y = np.meshgrid(g, g, indexing="ij")
    z = 2.0 * np.sin(x / 7) + 0.05 * y
    xyz = np.c_[x.ravel(), y.ravel(), z.ravel()]
    gap = (xyz[:, 0] > 15) & (xyz[:, 0] < 25) & (xyz[:, 1] > 15) & (xyz[:, 1] < 25)
    rgb = np.full((len(xyz), 3), 30000, np.uint16)
    return PointCloud(xyz=xyz[~gap], frame="site", rgb=rgb[~gap])


def test_delaunay25d_keeps_the_gap_open():
    cloud = terrain_with_gap()
    mesh = reconstruct(cloud, get_preset("als", {"delaunay_max_edge": 2.0}))
    c = mesh.vertices[mesh.faces].mean(axis=1)
    assert not np.any((c[:, 0] > 15.5) & (c[:, 0] < 24.5) & (c[:, 1] > 15.5) & (c[:, 1] < 24.5))
    # the rest is covered: 2 triangles per grid cell outside the gap
    cells = 80 * 80 - 21 * 21                              # gap removed 19x19 points
    assert abs(mesh.n_faces - 2 * cells) / (2 * cells) < 0.05
    # vertices are the points themselves, normals point up, colours carried
    np.testing.assert_array_equal(np.sort(mesh.vertices[:, 2]), np.sort(cloud.xyz[:, 2]))
    assert np.all(mesh.normals[:, 2] > 0)
    assert np.all(mesh.vertex_colors[:, :3] == 30000 >> 8)
    # a large limit closes the gap
    closed = reconstruct(cloud, get_preset("als", {"delaunay_max_edge": 50.0}))
    c = closed.vertices[closed.faces].mean(axis=1)
    assert np.any((c[:, 0] > 16) & (c[:, 0] < 24) & (c[:, 1] > 16) & (c[:, 1] < 24))


def test_delaunay25d_highest_point_per_cell():
    cloud = terrain_with_gap(1.0)
    under = cloud.xyz.copy()
    under[:, 2] -= 5.0                                    # a lower return under every point
    both = PointCloud(xyz=np.r_[cloud.xyz, under], frame="site")
    mesh = reconstruct(both, get_preset("als", {"delaunay_xy_cell": 0.5}))
    assert len(mesh.vertices) == len(cloud)
    np.testing.assert_array_equal(np.sort(mesh.vertices[:, 2]), np.sort(cloud.xyz[:, 2]))


def test_ball_pivoting_on_a_plane():
    rng = np.random.default_rng(8)
    xyz = np.c_[rng.uniform(0, 10, (8_000, 2)), np.zeros(8_000)]
    mesh = reconstruct(PointCloud(xyz=xyz, frame="site"),
                       get_preset("photogrammetry", {"surface_method": "bpa",
                                                     "normal_radius": 0.5,
                                                     "normal_orientation": "up"}))
    a = mesh.vertices[mesh.faces]
    area = 0.5 * np.linalg.norm(np.cross(a[:, 1] - a[:, 0], a[:, 2] - a[:, 0]), axis=1).sum()
    assert 80 < area <= 100.0 + 1e-6


def test_reconstruct_refuses_too_few_points():
    with pytest.raises(ProcessingError, match="2 point"):
        reconstruct(PointCloud(xyz=np.zeros((2, 3)), frame="site"), get_preset("als"))


# --- mesh cleaning -----------------------------------------------------------------------

def test_clean_mesh_removes_planted_defects_and_respects_seams():
    m = grid_mesh(20)
    nv, nf = len(m.vertices), m.n_faces
    v, f = m.vertices, m.faces.astype(np.int64)
    # duplicates of vertex 0 and 1 with the same position/UV/colour (merge) ...
    dup = np.array([0, 1])
    # ... and a copy of vertex 2 with another UV: a seam, must stay
    seam = np.array([2])
    v2 = np.r_[v, v[dup], v[seam], [[99.0, 99, 99]]]      # + one unreferenced vertex
    uv2 = np.r_[m.uv, m.uv[dup], m.uv[seam] + 0.5, [[0, 0]]].astype(np.float32)
    col2 = np.r_[m.vertex_colors, m.vertex_colors[dup], m.vertex_colors[seam], [[0, 0, 0, 0]]]
    face_dup = f[10][[1, 2, 0]]                            # same vertex set, rotated
    face_rep = [5, 5, 6]                                   # repeated index
    face_flat = [0, 1, 2]                                  # three collinear vertices (x=z=0)
    face_new_dup = [nv, nv + 1, 20]                        # uses the merged copies of 0, 1
    face_seam = [nv + 2, 22, 3]
    f2 = np.r_[f, [face_dup, face_rep, face_flat, face_new_dup, face_seam]]
    mesh = Mesh(vertices=v2, faces=f2.astype(np.int32), frame="site", vertex_colors=col2,
                uv=uv2, texture=np.zeros((4, 4, 3), np.uint8))
    out, stats = clean_mesh(mesh)
    assert stats["merged_vertices"] == 2
    assert stats["degenerate_faces"] == 2
    assert stats["duplicate_faces"] == 2       # the rotated copy and [0', 1', 20]
    assert stats["unreferenced_vertices"] == 1
    assert out.n_faces == nf + 1                           # only the seam face is new
    assert len(out.vertices) == nv + 1                     # the seam vertex stays separate
    assert out.texture is mesh.texture and len(out.uv) == len(out.vertices)
    assert np.allclose(np.linalg.norm(out.normals, axis=1), 1.0, atol=1e-6)
    assert np.all(out.normals[:, 2] > 0)


def test_vertex_normals_are_area_weighted():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0], [0, -10, 0], [0, 0, 0]])
    f = np.array([[0, 1, 2], [0, 3, 4]])      # small face +z, large face +x, joined at 0
    n = vertex_normals(v, f)
    assert n[0, 0] > 0.99                      # the large face dominates the shared vertex
    np.testing.assert_allclose(n[5], [0, 0, 1])   # unreferenced: a unit default


# --- levels of detail --------------------------------------------------------------------

def test_lods_hit_their_targets_and_keep_colours_and_texture():
    m = grid_mesh(201)                                     # 80,000 faces
    yy, xx = np.mgrid[0:64, 0:64]                          # a smooth colour ramp over u and v
    m.texture = np.stack([xx * 4, yy * 4, np.full_like(xx, 128)], axis=2).astype(np.uint8)
    lods = make_lods(m, (1.0, 0.25, 0.05), preserve_border=False)
    assert lods[0] is m or lods[0].n_faces == m.n_faces
    for lod, frac in zip(lods[1:], (0.25, 0.05), strict=True):
        target = frac * m.n_faces
        assert abs(lod.n_faces - target) / target <= 0.10, (lod.n_faces, target)
        assert lod.vertex_colors.shape == (len(lod.vertices), 4)
        # colours are averaged over each collapsed cluster: pure away from the red/blue edge
        left = lod.vertices[:, 0] < 4.0
        right = lod.vertices[:, 0] > 6.0
        assert np.all(lod.vertex_colors[left, 0] == 255)
        assert np.all(lod.vertex_colors[right, 2] == 255)
        # a new atlas per level, its texture baked from lod0: the ramp shows where it was
        assert len(lod.uv) == len(lod.vertices)
        assert np.percentile(texbake.colour_difference(m, lod), 99) < 12
        assert lod.faces.max() < len(lod.vertices)
        assert np.allclose(np.linalg.norm(lod.normals, axis=1), 1.0, atol=1e-5)


def test_lod_textures_are_capped_per_level():
    m = grid_mesh(41)
    m.texture = np.zeros((2048, 1024, 3), np.uint8)
    lods = make_lods(m, (1.0, 0.25, 0.05), texture_size=1024)
    assert lods[0].texture.shape[:2] == (1024, 512)
    # coarser levels: the edge scales with the square root of the face share (power of two)
    assert [max(lod.texture.shape[:2]) for lod in lods[1:]] == [512, 256]
    assert m.texture.shape == (2048, 1024, 3)              # the input is untouched


def test_lod_fractions_are_validated():
    with pytest.raises(ProcessingError, match="fractions"):
        make_lods(grid_mesh(5), (1.0, 0.0))
