"""C2C, C2M, DoD, regions and summaries on generated scenes with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial import cKDTree

from processing.change import (
    DoDParams,
    M3C2Params,
    c2c,
    c2m,
    dod,
    grid_regions,
    histogram,
    m3c2,
    point_regions,
    statistics,
)
from processing.change.synthetic import (
    box_mesh,
    box_scene,
    city_block_pair,
    height_field_mesh,
)
from processing.errors import ProcessingError

BOX = (10.0, 12.0, 10.0, 8.0, 4.0)  # x0, y0, width, depth, height: 320 m^3


def grid_plane(size: float, step: float, z: float = 0.0) -> np.ndarray:
    g = np.arange(0.0, size + step / 2, step)
    X, Y = np.meshgrid(g, g)
    return np.column_stack([X.ravel(), Y.ravel(), np.full(X.size, z)])


# --- C2C ------------------------------------------------------------------------------------

def test_c2c_known_distances_and_components() -> None:
    ref = grid_plane(10.0, 0.5)
    cmp_ = np.array([[2.0, 3.0, 0.7], [5.0, 5.0, -0.2], [2.25, 2.0, 0.0], [30.0, 0.0, 0.0]])
    res = c2c(cmp_, ref, split=True, max_distance=5.0)
    np.testing.assert_allclose(res.distance[:3], [0.7, 0.2, 0.25], atol=1e-12)
    assert np.isnan(res.distance[3]) and res.nearest[3] == -1
    np.testing.assert_allclose(res.vertical[:2], [0.7, -0.2], atol=1e-12)
    np.testing.assert_allclose(res.horizontal[:3], [0.0, 0.0, 0.25], atol=1e-12)
    np.testing.assert_allclose(ref[res.nearest[0]], [2.0, 3.0, 0.0])


def test_c2c_matches_exact_search_on_real_scale_coordinates() -> None:
    rng = np.random.default_rng(0)
    origin = np.array([350_000.0, 5_708_000.0, 40.0])  # UTM-sized coordinates
    ref = rng.random((20000, 3)) * [100, 100, 10] + origin
    cmp_ = rng.random((5000, 3)) * [100, 100, 10] + origin
    res = c2c(cmp_, ref)
    exact, _ = cKDTree(ref).query(cmp_)
    # float32 tree on centred coordinates: the neighbour may differ only in a near-tie
    assert np.all(res.distance >= exact - 1e-9)
    assert np.max(res.distance - exact) < 1e-5


def test_c2c_self_is_zero_and_errors() -> None:
    pts = box_scene(2000, [BOX], size=40, seed=1)
    assert np.max(c2c(pts, pts).distance) == 0.0
    with pytest.raises(ProcessingError, match="reference epoch is empty"):
        c2c(pts, np.zeros((0, 3)))
    with pytest.raises(ProcessingError, match=r"\(N, 3\)"):
        c2c(pts[:, :2], pts)
    with pytest.raises(ProcessingError, match="max_distance"):
        c2c(pts, pts, max_distance=0.0)


# --- C2M ------------------------------------------------------------------------------------

def test_c2m_open_surface_sign_from_face_normals() -> None:
    """Open mesh: Open3D's parity sign would call every point 'outside'; ours is the side."""
    x = np.linspace(0, 10, 11)
    z = np.where(np.meshgrid(x, x)[0] > 5, 1.0, 0.0)  # a 1 m step with a slope in between
    v, f = height_field_mesh(x, x, z)
    pts = np.array([[2.0, 2.0, 0.5], [2.0, 2.0, -0.25], [8.5, 3.0, 1.3], [8.5, 3.0, 0.4],
                    [5.5, 4.0, 0.2]])
    res = c2m(pts, v, f)
    np.testing.assert_allclose(res.distance[:4], [0.5, -0.25, 0.3, -0.6], atol=1e-6)
    # below the slope z = x - 5 between x = 5 and 6
    assert res.distance[4] == pytest.approx(-0.3 / np.sqrt(2), abs=1e-6)
    np.testing.assert_allclose(res.closest[0], [2.0, 2.0, 0.0], atol=1e-6)


def test_c2m_closed_box_agrees_with_open3d_and_pseudo_normals_fix_corners() -> None:
    import open3d as o3d
    v, f = box_mesh(0, 0, 0, 2, 3, 4)
    rng = np.random.default_rng(1)
    pts = rng.random((3000, 3)) * [6, 7, 8] - [2, 2, 2]
    # points diagonally off edges and corners, where face normals alone pick wrong signs
    pts = np.concatenate([pts, [[2.5, 3.5, 4.5], [-0.3, -0.3, 2.0], [2.2, 1.0, -0.2],
                                [-0.5, 3.5, -0.5]]])
    res = c2m(pts, v, f)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(v.astype(np.float32)),
                        o3d.core.Tensor(f.astype(np.uint32)))
    ref = scene.compute_signed_distance(o3d.core.Tensor(pts.astype(np.float32))).numpy()
    np.testing.assert_allclose(res.distance, ref, atol=1e-5)
    inside = (pts > 0).all(axis=1) & (pts < [2, 3, 4]).all(axis=1)
    assert (res.distance[inside] < 0).all() and (res.distance[~inside] > 0).all()
    assert set(np.unique(res.feature[-4:])) <= {1, 2}  # edge or vertex features


def test_c2m_max_distance_and_errors() -> None:
    v, f = box_mesh(0, 0, 0, 1, 1, 1)
    res = c2m(np.array([[0.5, 0.5, 1.5], [0.5, 0.5, 9.0]]), v, f, max_distance=1.0)
    assert res.distance[0] == pytest.approx(0.5, abs=1e-6)
    assert np.isnan(res.distance[1]) and res.face[1] == -1
    with pytest.raises(ProcessingError, match="vertices"):
        c2m(v, v, f + 10)
    with pytest.raises(ProcessingError, match="degenerate"):
        c2m(v, v, np.array([[0, 0, 0]]))
    with pytest.raises(ProcessingError, match="points to compare is empty"):
        c2m(np.zeros((0, 3)), v, f)


# --- DoD and regions --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def box_added() -> tuple[np.ndarray, np.ndarray]:
    before = box_scene(60000, [], size=40, seed=1, noise=0.01)
    after = box_scene(60000, [BOX], size=40, seed=2, noise=0.01)
    return before, after


def test_dod_volume_of_added_box(box_added) -> None:
    before, after = box_added
    # 'mean' cells weight a cell the box covers partly by its share of points: unbiased.
    res = dod(before, after, DoDParams(cell_size=0.5, statistic="mean", registration_error=0.01))
    assert res.volume_gained == pytest.approx(320.0, rel=0.05)
    assert res.volume_lost < 5.0  # noise summed over 6400 cells of 1 cm noise
    sig = dod(before, after, DoDParams(cell_size=0.5, statistic="mean", only_significant=True))
    assert sig.volume_lost < 1.0 and sig.volume_gained == pytest.approx(320.0, rel=0.05)
    assert res.volume_net == pytest.approx(res.volume_gained - res.volume_lost, abs=1e-6)
    # U95 = 1.96 (A sqrt(sum s1^2 + s2^2) + A N reg): the systematic 1 cm registration error
    # over all compared cells dominates the net volume's uncertainty
    systematic = 1.96 * 0.25 * res.cells_compared * 0.01
    assert systematic < res.volume_net_uncertainty < systematic + 2.0
    assert res.cells_compared + res.cells_only_reference + res.cells_only_compared \
        + res.cells_empty == res.dz.size
    # 'max' (the surface top) counts every edge cell as roof, and scanned walls raise the ring
    # of cells around the box: an overestimate of up to perimeter x cell x height (docs).
    top = dod(before, after, DoDParams(cell_size=0.5, statistic="max", registration_error=0.01))
    assert res.volume_gained < top.volume_gained < 320.0 + (36 * 0.5 + 4 * 0.25) * 4.0 * 1.05
    # Removing it is the mirror image.
    back = dod(after, before, DoDParams(cell_size=0.5, statistic="mean"))
    assert back.volume_lost == pytest.approx(res.volume_gained, rel=1e-9)
    s = json.loads(json.dumps(res.to_summary(), allow_nan=False))
    assert s["volume"]["gained"] == pytest.approx(res.volume_gained)


def test_grid_regions_find_the_box(box_added) -> None:
    before, after = box_added
    res = dod(before, after, DoDParams(cell_size=0.5, statistic="mean", registration_error=0.01))
    regions = grid_regions(res, min_area=1.0)
    assert regions.regions, "no region found"
    top = regions.regions[0]
    assert top.id == 1 and top.sign == "added"
    assert top.volume == pytest.approx(320.0, rel=0.05)
    # the cells the box edge crosses count whole: at most one ring of cells more
    assert 80.0 <= top.area <= 80.0 + 36 * 0.5 + 4 * 0.25
    assert top.centroid[0] == pytest.approx(15.0, abs=0.3)
    assert top.centroid[1] == pytest.approx(16.0, abs=0.3)
    assert 3.0 < top.centroid[2] <= 4.05  # mean top surface; edge cells are partly ground
    np.testing.assert_allclose(top.bbox_min[:2], [10.0, 12.0], atol=0.51)
    np.testing.assert_allclose(top.bbox_max[:2], [20.0, 20.0], atol=0.51)
    assert top.max_abs_change == pytest.approx(4.0, abs=0.05)
    assert top.volume_uncertainty is not None and 0 < top.volume_uncertainty < 16
    assert (regions.labels == 1).sum() == top.count
    assert sum(abs(r.volume) for r in regions.regions[1:]) < 3.0
    json.dumps(regions.to_summary(), allow_nan=False)


def test_point_regions_from_m3c2_find_the_box() -> None:
    # airborne-like: walls sparsely sampled
    before = box_scene(60000, [], size=40, seed=1, noise=0.01)
    after = box_scene(60000, [BOX], size=40, seed=2, noise=0.01, wall_density=0.1)
    g = np.arange(0.25, 40, 0.5)
    X, Y = np.meshgrid(g, g)
    cores = np.column_stack([X.ravel(), Y.ravel(), np.zeros(X.size)])
    res = m3c2(before, after, M3C2Params(1.0, 0.25, 5.0, registration_error=0.01),
               cores=cores)
    regions = point_regions(cores, res.distance, res.significant, link_distance=0.75,
                            footprint_cell=0.5, min_area=1.0)
    top = regions.regions[0]
    assert top.sign == "added"
    assert top.area == pytest.approx(80.0, rel=0.05)
    assert top.volume == pytest.approx(320.0, rel=0.05)
    assert top.centroid[:2] == pytest.approx((15.0, 16.0), abs=0.3)
    assert len(regions.regions) == 1
    assert (regions.labels > 0).sum() == top.count


def test_point_regions_split_signs_and_link_distance() -> None:
    pts = np.array([[0, 0, 0], [0.4, 0, 0], [0.8, 0, 0], [5, 0, 0], [5.3, 0, 0], [0, 0.3, 0]],
                   dtype=float)
    vals = np.array([1.0, 1.0, 1.0, -2.0, -2.0, -1.0])
    res = point_regions(pts, vals, link_distance=0.5, footprint_cell=0.1)
    signs = sorted((r.sign, r.count) for r in res.regions)
    assert signs == [("added", 3), ("removed", 1), ("removed", 2)]
    # labels agree with the regions, 0 nowhere (all significant)
    assert (res.labels > 0).all()
    assert len(set(res.labels[:3])) == 1 and res.labels[3] == res.labels[4]
    assert res.labels[5] != res.labels[0]
    with pytest.raises(ProcessingError, match="one value per point"):
        point_regions(pts, vals[:2], link_distance=0.5)


def test_dod_excludes_and_counts_missing_cells_and_fills_small_holes() -> None:
    a = grid_plane(10.0, 0.1, z=0.0)
    b = grid_plane(10.0, 0.1, z=0.5)
    hole = (b[:, 0] >= 4.0) & (b[:, 0] < 5.0) & (b[:, 1] >= 4.0) & (b[:, 1] < 5.0)
    gap = b[:, 0] > 8.0
    b2 = b[~hole & ~gap]
    res = dod(a, b2, DoDParams(cell_size=1.0, statistic="max"))
    # 1 m hole = one cell, strip x > 8 m: cells of column 8 (partially) and the x = 10 edge
    assert res.cells_only_reference >= 1 + 10
    assert res.cells_only_compared == 0
    assert res.volume_net == pytest.approx(0.5 * res.cells_compared, rel=1e-9)
    filled = dod(a, b2, DoDParams(cell_size=1.0, statistic="max", fill_holes=1))
    assert filled.compared.filled.sum() >= 1
    assert filled.cells_only_reference < res.cells_only_reference
    assert filled.compared.z[4, 4] == pytest.approx(0.5)


def test_dod_uncertainty_formula_by_hand() -> None:
    # one cell, two points per epoch: sigma1 = 0.1, sigma2 = 0.2 (population std)
    a = np.array([[0.2, 0.2, 0.0], [0.7, 0.7, 0.2]])
    b = np.array([[0.2, 0.2, 1.0], [0.7, 0.7, 1.4]])
    res = dod(a, b, DoDParams(cell_size=1.0, statistic="mean", registration_error=0.05))
    s1, s2 = 0.1 / np.sqrt(2), 0.2 / np.sqrt(2)
    assert res.dz[0, 0] == pytest.approx(1.1)
    assert res.lod[0, 0] == pytest.approx(1.96 * (np.hypot(s1, s2) + 0.05))
    assert res.volume_net_uncertainty == pytest.approx(1.96 * (np.hypot(s1, s2) + 0.05))
    top = dod(a, b, DoDParams(cell_size=1.0, statistic="max"))
    assert top.dz[0, 0] == pytest.approx(1.2)
    assert top.lod[0, 0] == pytest.approx(1.96 * np.hypot(0.1, 0.2))


def test_dod_parameters() -> None:
    with pytest.raises(ProcessingError, match="cell_size"):
        DoDParams(cell_size=0)
    with pytest.raises(ProcessingError, match="statistic"):
        DoDParams(cell_size=1, statistic="median")  # type: ignore[arg-type]
    pts = np.array([[0.0, 0.0, 0.0], [1e6, 1e6, 0.0]])
    with pytest.raises(ProcessingError, match="larger cell_size"):
        dod(pts, pts, DoDParams(cell_size=0.01))


def test_city_block_pair_all_methods_agree_on_the_story() -> None:
    e1, e2, truth = city_block_pair(150_000, size=100.0, seed=4)
    res = dod(e1, e2, DoDParams(cell_size=1.0, registration_error=0.03))
    regions = grid_regions(res, min_area=20.0)
    assert len(regions.regions) == 2  # the shifted unchanged buildings give none
    for sign in ("added", "removed"):
        x0, y0, w, d, h = truth[sign]
        r = next(r for r in regions.regions if r.sign == sign)
        assert x0 <= r.centroid[0] <= x0 + w and y0 <= r.centroid[1] <= y0 + d
        # 'surface' DEM, fully scanned walls, a 5 cm shift between the epochs
        assert abs(r.volume) == pytest.approx(w * d * h, rel=0.03)
        assert abs(abs(r.volume) - w * d * h) < r.volume_uncertainty
    dist = c2c(e2, e1, split=True)
    # the 2 cm vertical shift shows on open ground
    assert np.median(dist.vertical) == pytest.approx(0.02, abs=0.01)


# --- summaries --------------------------------------------------------------------------------

def test_histogram_and_statistics() -> None:
    v = np.array([-0.3, -0.1, 0.0, 0.05, 0.1, 2.0, np.nan])
    h = histogram(v, bins=5, limit=0.5)
    assert h["edges"] == pytest.approx([-0.5, -0.3, -0.1, 0.1, 0.3, 0.5])
    assert h["counts"] == [0, 1, 3, 1, 0]  # bins are [a, b): -0.1 and 0.1 open their bins
    assert h["above"] == 1 and h["missing"] == 1 and h["below"] == 0
    auto = histogram(np.linspace(-0.37, 0.37, 100))
    assert auto["edges"][-1] == pytest.approx(0.5) and len(auto["counts"]) == 41
    assert auto["edges"][0] == -auto["edges"][-1]
    st = statistics(v, significant=np.array([1, 0, 0, 0, 1, 1, 1], dtype=bool))
    assert st["valid"] == 6 and st["missing"] == 1
    assert st["median"] == pytest.approx(0.025)
    assert st["share_significant"] == pytest.approx(0.5)
    json.dumps(st, allow_nan=False)
    empty = statistics(np.array([np.nan]))
    assert empty["mean"] is None
    json.dumps(empty, allow_nan=False)
