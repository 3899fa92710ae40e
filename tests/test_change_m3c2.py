"""M3C2 against PDAL's filters.m3c2 reference on real data, against brute force, and on scenes
with a known answer."""

from __future__ import annotations

import importlib
from pathlib import Path

import laspy
import numpy as np
import pytest

from processing.change import M3C2Params, m3c2, subsample_cores
from processing.change.synthetic import box_scene
from processing.errors import ProcessingError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "change" / "autzen-bmx"
needs_data = pytest.mark.skipif(not (DATA / "autzen-bmx-m3c2.txt").exists(),
                                reason=f"real change data not found at {DATA}")

# PDAL's parameters for autzen-bmx-m3c2.txt (radii, normals up: the filter's defaults).
PDAL_103 = M3C2Params(normal_radius=1.390432, cylinder_radius=2.890432, max_depth=5.5)
PDAL_3 = M3C2Params(normal_radius=5.24414, cylinder_radius=10.4882815, max_depth=2.763006)
# PDAL's filterPoints() drops the first (nearest) epoch point whenever the core point equals
# the epoch's point 0.  Core 0 of the larger sample is point 0 of the 2010 file, so PDAL
# counts 11 reference points where there are 12; we count all of them.
PDAL_QUIRK_CORE = 0


def read_xyz(name: str) -> np.ndarray:
    las = laspy.read(DATA / name)
    return np.column_stack([las.x, las.y, las.z])


@pytest.fixture(scope="module")
def epochs() -> tuple[np.ndarray, np.ndarray]:
    return read_xyz("autzen-bmx-2010.las"), read_xyz("autzen-bmx-2023.las")


@pytest.fixture(scope="module")
def pdal_ref() -> np.ndarray:
    return np.genfromtxt(DATA / "autzen-bmx-m3c2.txt", delimiter=",", names=True)


@needs_data
def test_pdal_larger_sample(epochs, pdal_ref) -> None:
    p1, p2 = epochs
    cores = np.column_stack([pdal_ref["X"], pdal_ref["Y"], pdal_ref["Z"]])
    res = m3c2(p1, p2, PDAL_103, cores=cores)
    assert res.distance.shape == (103,)
    # PDAL leaves every m3c2 field at 0 where it computed nothing (count1 == 0): 12 cores.
    pdal_has = pdal_ref["m3c2_count1"] > 0
    assert pdal_has.sum() == 91
    # Ours: NaN exactly there - 6 cores have fewer than 3 reference points within the normal
    # radius (no plane; PDAL's findNormal needs 3 too), 6 have an empty compared cylinder.
    assert np.isnan(res.distance[~pdal_has]).all()
    assert np.isfinite(res.distance[pdal_has]).all()
    no_value = np.flatnonzero(~pdal_has)
    no_normal = res.normal_count[no_value] < 3
    assert no_normal.sum() == 6
    assert (res.n2[no_value[~no_normal]] == 0).all()

    diff = np.abs(res.distance - pdal_ref["m3c2_distance"])
    close = pdal_has & (diff <= 0.01)
    assert np.flatnonzero(pdal_has & ~close).tolist() == [PDAL_QUIRK_CORE]
    # 90 of 91 valued cores within 0.01 m (PDAL prints 3 decimals: they agree to 0.0005 m).
    assert close.sum() == 90
    assert diff[close].max() < 0.0006
    # Same significant / not decision on all 103 (no value = not significant in both).
    assert (res.significant == (pdal_ref["m3c2_significant"] > 0)).all()
    lod_close = np.abs(res.lod - pdal_ref["m3c2_uncertainty"]) <= 0.01
    assert (lod_close | ~pdal_has).sum() == 103
    np.testing.assert_array_equal(res.n2[pdal_has], pdal_ref["m3c2_count2"][pdal_has])
    quirk = np.zeros(103, dtype=bool)
    quirk[PDAL_QUIRK_CORE] = True
    np.testing.assert_array_equal(res.n1[pdal_has & ~quirk],
                                  pdal_ref["m3c2_count1"][pdal_has & ~quirk])
    # Population standard deviations, as PDAL.
    np.testing.assert_allclose(res.std2[pdal_has], pdal_ref["m3c2_std_dev2"][pdal_has],
                               atol=6e-4)


@needs_data
def test_pdal_quirk_core_zero_explained(epochs, pdal_ref) -> None:
    """Core 0 differs only because PDAL drops its nearest reference point: drop it too (and
    keep the normal, which PDAL computes from all points) and we match PDAL."""
    p1, p2 = epochs
    core = np.column_stack([pdal_ref["X"], pdal_ref["Y"], pdal_ref["Z"]])[:1]
    assert np.allclose(core[0], p1[0], atol=1e-6)
    full = m3c2(p1, p2, PDAL_103, cores=core)
    assert full.n1[0] == 12 and abs(full.distance[0] - pdal_ref["m3c2_distance"][0]) > 0.01
    emulated = m3c2(p1[1:], p2, PDAL_103, cores=core, normals=full.normals)
    assert emulated.n1[0] == pdal_ref["m3c2_count1"][0] == 11
    assert abs(emulated.distance[0] - pdal_ref["m3c2_distance"][0]) <= 0.001
    assert abs(emulated.lod[0] - pdal_ref["m3c2_uncertainty"][0]) <= 0.001


@needs_data
def test_pdal_three_cores(epochs) -> None:
    p1, p2 = epochs
    cores = np.loadtxt(DATA / "autzen-bmx-cores.txt", delimiter=",", skiprows=1)
    res = m3c2(p1, p2, PDAL_3, cores=cores)
    np.testing.assert_allclose(res.distance, [1.396, 0.670, 1.246], atol=0.01)
    np.testing.assert_allclose(res.lod, [0.275, 0.140, 0.226], atol=0.01)
    assert res.significant.all()
    assert abs(res.std1[0] - 0.732) <= 0.01 and abs(res.std2[0] - 1.582) <= 0.01
    assert res.n1[0] == 118 and res.n2[0] == 166
    np.testing.assert_allclose(np.linalg.norm(res.normals, axis=1), 1.0)
    assert (res.normals[:, 2] >= 0).all()


def brute_force(p1, p2, cores, normals, r, h, statistic="mean"):
    """Reference M3C2 statistics by testing every point against every cylinder."""
    out = []
    for c, n in zip(cores, normals, strict=True):
        row = []
        for pts in (p1, p2):
            q = pts - c
            t = q @ n
            inside = ((q * q).sum(axis=1) - t * t <= r * r) & (np.abs(t) <= h)
            row.append(t[inside])
        out.append(row)
    return out


@pytest.mark.parametrize("max_depth,statistic,block,dense", [(0.4, "mean", None, False),
                                                             (2.5, "mean", 37, False),
                                                             (1.3, "median", None, False),
                                                             (2.5, "mean", None, True)])
def test_matches_brute_force(max_depth: float, statistic: str, block: int | None, dense: bool,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Slabbed cylinder search + occupancy pruning finds exactly the points of each cylinder
    (max_depth > radius makes several slabs); small blocks run the threaded path; ``dense``
    forces the dual-tree search meant for large neighbourhoods."""
    # the package exports the function m3c2, so reach the modules through sys.modules
    mod = importlib.import_module("processing.change.m3c2")
    if block:
        monkeypatch.setattr(mod, "CORE_BLOCK", block)
    if dense:
        monkeypatch.setattr(mod, "DENSE_K", 0)
        monkeypatch.setattr(importlib.import_module("processing.change._common"), "DENSE_K", 0)
    rng = np.random.default_rng(3)
    boxes = [(5, 5, 6, 4, 3.0), (14, 12, 3, 5, 2.0)]
    p1 = box_scene(6000, boxes, size=25, seed=1, noise=0.02)
    p2 = box_scene(6000, boxes[:1] + [(10, 2, 4, 4, 1.5)], size=25, seed=2, noise=0.02)
    cores = p1[rng.choice(len(p1), 200, replace=False)]
    params = M3C2Params(1.0, 0.5, max_depth, statistic=statistic)
    res = m3c2(p1, p2, params, cores=cores)
    ref = brute_force(p1, p2, cores, res.normals, 0.5, max_depth)
    f = np.median if statistic == "median" else np.mean
    checked = 0
    for i, (t1, t2) in enumerate(ref):
        if not np.isfinite(res.normals[i]).all():
            continue
        assert (res.n1[i], res.n2[i]) == (t1.size, t2.size)
        if t1.size and t2.size:
            assert res.distance[i] == pytest.approx(f(t2) - f(t1), abs=1e-9)
            assert res.std1[i] == pytest.approx(t1.std(), abs=1e-9)
            checked += 1
        else:
            assert np.isnan(res.distance[i])
    assert checked > 150


def test_normals_are_pca_of_reference_within_radius() -> None:
    rng = np.random.default_rng(0)
    p1 = box_scene(3000, [(4, 4, 3, 3, 2.0)], size=12, seed=5, noise=0.01)
    cores = p1[rng.choice(len(p1), 50, replace=False)]
    res = m3c2(p1, p1, M3C2Params(0.8, 0.3, 0.5), cores=cores)
    for c, n, k in zip(cores, res.normals, res.normal_count, strict=True):
        nb = p1[((p1 - c) ** 2).sum(axis=1) <= 0.64]
        assert k == len(nb)
        w, v = np.linalg.eigh(np.cov(nb.T))
        ref = v[:, 0] * (1 if v[2, 0] >= 0 else -1)
        assert abs(abs(ref @ n) - 1) < 1e-9
        assert n[2] >= 0


def test_orientation_towards_viewpoint() -> None:
    p1 = box_scene(4000, [(4, 4, 3, 3, 2.0)], size=12, seed=5, noise=0.005)
    # Wall points at least 0.5 m (the normal radius) from the ground, roof and corners.
    wall = p1[(np.abs(p1[:, 0] - 4) < 0.02) & (p1[:, 2] > 0.55) & (p1[:, 2] < 1.45)
              & (p1[:, 1] > 4.55) & (p1[:, 1] < 6.45)]
    res = m3c2(p1, p1, M3C2Params(0.5, 0.3, 0.5, orientation=(-10.0, 5.5, 1.0)), cores=wall)
    ok = np.isfinite(res.normals[:, 0])
    assert ok.sum() > 10
    assert (res.normals[ok, 0] < -0.9).all()  # the wall at x = 4 faces the viewpoint at x = -10


def test_known_uplift_is_significant_and_self_comparison_is_not() -> None:
    flat = box_scene(20000, [], size=20, seed=1, noise=0.01)
    raised = box_scene(20000, [], size=20, seed=2, noise=0.01, shift=(0, 0, 0.3))
    params = M3C2Params(1.0, 0.5, 1.0, registration_error=0.01)
    res = m3c2(flat, raised, params, cores=1.0)
    ok = np.isfinite(res.distance)
    assert ok.mean() > 0.95
    assert abs(res.distance[ok].mean() - 0.3) < 0.002
    np.testing.assert_allclose(res.distance[ok], 0.3, atol=0.02)  # noise: 1 cm per point
    assert res.significant[ok].all()
    same = m3c2(flat, flat, params, cores=1.0)
    assert np.nanmax(np.abs(same.distance)) < 1e-12  # only summation order differs
    assert not same.significant.any()
    alone = m3c2(flat, flat, M3C2Params(1.0, 0.05, 0.05), cores=1.0)  # ~1 point, LoD 0
    assert not alone.significant.any()
    # Two independent samplings of one surface: LoD95 flags about 5 %, not more.
    other = m3c2(flat, box_scene(20000, [], size=20, seed=3, noise=0.01),
                 M3C2Params(1.0, 0.5, 1.0), cores=1.0)
    assert other.significant.mean() < 0.1


def test_median_is_robust_to_outliers() -> None:
    flat = box_scene(5000, [], size=10, seed=1, noise=0.002)
    spiky = box_scene(5000, [], size=10, seed=2, noise=0.002)
    spiky[::10, 2] += 0.8  # 10 % outliers
    mean = m3c2(flat, spiky, M3C2Params(1.0, 0.5, 1.0), cores=2.0)
    med = m3c2(flat, spiky, M3C2Params(1.0, 0.5, 1.0, statistic="median"), cores=2.0)
    assert np.nanmedian(mean.distance) > 0.05
    assert np.nanmax(np.abs(med.distance)) < 0.01


def test_subsample_cores_spacing() -> None:
    pts = box_scene(20000, [], size=10, seed=1, noise=0.0)
    idx = subsample_cores(pts, 1.0)
    assert 95 <= idx.size <= 100
    assert np.unique(np.floor(pts[idx, :2]), axis=0).shape[0] == idx.size
    with pytest.raises(ProcessingError, match="spacing"):
        subsample_cores(pts, 0.0)


def test_parameters_and_conventions() -> None:
    p = M3C2Params.from_cloudcompare(2.780864, 5.780864, 5.5)
    assert p.normal_radius == pytest.approx(1.390432)
    assert p.cylinder_radius == pytest.approx(2.890432)
    assert p.max_depth == 5.5
    assert p.to_cloudcompare() == pytest.approx({"normal_scale": 2.780864,
                                                 "projection_scale": 5.780864,
                                                 "max_depth": 5.5})
    assert p.to_dict()["orientation"] == "up"
    with pytest.raises(ProcessingError, match="cylinder_radius"):
        M3C2Params(1.0, 0.0, 1.0)
    with pytest.raises(ProcessingError, match="normal_radius"):
        M3C2Params(-1.0, 1.0, 1.0)
    with pytest.raises(ProcessingError, match="orientation"):
        M3C2Params(1.0, 1.0, 1.0, orientation="down")
    with pytest.raises(ProcessingError, match="statistic"):
        M3C2Params(1.0, 1.0, 1.0, statistic="mode")  # type: ignore[arg-type]


def test_user_errors_are_actionable() -> None:
    pts = box_scene(500, [], size=5, seed=1)
    with pytest.raises(ProcessingError, match="larger than the reference epoch's extent"):
        m3c2(pts, pts, M3C2Params(50.0, 0.5, 1.0))
    with pytest.raises(ProcessingError, match="compared epoch is empty"):
        m3c2(pts, np.zeros((0, 3)), M3C2Params(1.0, 0.5, 1.0))
    with pytest.raises(ProcessingError, match="NaN"):
        m3c2(pts, np.full((3, 3), np.nan), M3C2Params(1.0, 0.5, 1.0))
    with pytest.raises(ProcessingError, match="normals must be"):
        m3c2(pts, pts, M3C2Params(1.0, 0.5, 1.0), cores=pts[:5], normals=np.ones((4, 3)))


def test_summary_is_json_serialisable() -> None:
    import json
    flat = box_scene(3000, [], size=10, seed=1)
    res = m3c2(flat, flat + [0, 0, 0.1], M3C2Params(1.0, 0.5, 1.0), cores=1.0)
    s = json.loads(json.dumps(res.to_summary(), allow_nan=False))
    assert s["method"] == "m3c2" and s["core_points"] == res.distance.size
    assert s["statistics"]["share_significant"] == pytest.approx(1.0)
    h = s["histogram"]
    assert sum(h["counts"]) + h["below"] + h["above"] + h["missing"] == res.distance.size
