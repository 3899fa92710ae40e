"""The synthetic Gasometer demo: scene, simulated LiDAR, textured mesh, manifest and truth.

A sparse version (density 0.03, 256² texture) is built once per module; it has the same
geometry, files and manifest as the full demo, only fewer points and texels.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import laspy
import numpy as np
import pyproj
import pytest

from processing.demo import EPOCHS, build_demo_sources, build_site, site_origin
from processing.demo.lidar import Raycaster
from processing.demo.scene import (
    GASOMETER_EAVE,
    GASOMETER_RADIUS,
    GASOMETER_SIDES,
    Label,
    points_in_polygon,
)

DENSITY = 0.03
TEXTURE = 256


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _all_files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo_sources(tmp_path_factory.mktemp("demo"), seed=7, density=DENSITY,
                              texture_size=TEXTURE)


def _points(path: Path, origin) -> tuple[np.ndarray, laspy.LasData]:
    las = laspy.read(path)
    xyz = np.column_stack([las.x, las.y, las.z]) - np.asarray(origin)
    return xyz, las


def test_same_seed_gives_identical_bytes(demo, tmp_path):
    again = build_demo_sources(tmp_path / "again", seed=7, density=DENSITY,
                               texture_size=TEXTURE)
    first, second = _all_files(demo.out_dir), _all_files(again.out_dir)
    assert first == second
    assert any(name.endswith(".laz") for name in first)
    other = build_site(8)
    assert not np.allclose(other.terrain.waves, build_site(7).terrain.waves)


def test_layout_and_manifest(demo):
    doc = tomllib.loads(demo.manifest_path.read_text(encoding="utf-8"))
    assert doc["id"] == "gasometer-demo"
    assert doc["licence"] == "CC0-1.0"
    assert doc["origin"] == list(site_origin()) == list(demo.origin)
    e, n, h = doc["origin"]
    assert 350_000 < e < 355_000 and 5_700_000 < n < 5_710_000 and h == 37.0
    assert [ep["id"] for ep in doc["epochs"]] == list(EPOCHS)
    assert [ep["preset"] for ep in doc["epochs"]] == ["als", "tls", "photogrammetry"]
    for ep in doc["epochs"]:
        assert ep["sources"]
        for src in ep["sources"]:
            path = demo.out_dir / src["path"]
            assert path.is_file() and _sha(path) == src["sha256"]
            assert ("crs" in src) == path.name.endswith(".obj")
    assert {a["id"] for a in doc["annotations"]} >= {"roof-platform", "pavilion", "earth-mound"}
    assert all(set(a["title"]) == {"de", "en"} for a in doc["annotations"])
    try:
        from assets_manifest.io import load_manifest
    except ImportError:                                 # the manifest model is optional here
        return
    manifest = load_manifest(demo.manifest_path)
    assert [e.id for e in manifest.epochs] == list(EPOCHS)


def test_laz_files_readable_with_crs_and_attributes(demo):
    site_crs = pyproj.CRS("EPSG:25832+7837")
    for epoch in EPOCHS[:2]:
        classes: set[int] = set()
        for path in demo.sources[epoch]:
            xyz, las = _points(path, demo.origin)
            h = las.header
            assert (str(h.version), h.point_format.id) == ("1.4", 7)
            assert np.allclose(h.scales, 0.001)
            assert np.allclose(h.offsets, demo.origin)
            assert h.parse_crs() == site_crs
            assert str(h.creation_date) == epoch
            assert len(las) > 0
            assert np.all(np.abs(xyz[:, :2]) <= 201.0)  # within the terrain
            assert np.all(np.diff(las.gps_time) >= 0)
            assert las.red.max() > 0 and las.intensity.max() > 0
            classes |= set(np.unique(las.classification).tolist())
        assert {1, 2, 6, 7} <= classes                   # ground, building, noise, outliers
    als = [laspy.read(p) for p in demo.sources[EPOCHS[0]]]
    assert {2, 5, 6, 11} <= set(np.concatenate([a.classification for a in als]).tolist())
    assert max(a.return_number.max() for a in als) == 2
    angles = np.concatenate([np.asarray(a.scan_angle) for a in als]) * 0.006
    assert -20.01 <= angles.min() < -19 and 19 < angles.max() <= 20.01


def test_point_counts_scale_with_density(demo):
    # full density gives about 1.49 M (ALS) and 0.86 M (TLS) points
    als, tls = demo.point_counts[EPOCHS[0]], demo.point_counts[EPOCHS[1]]
    assert 0.6 * 1.49e6 * DENSITY < als < 1.4 * 1.49e6 * DENSITY
    assert 0.5 * 0.86e6 * DENSITY < tls < 1.5 * 0.86e6 * DENSITY
    noise = sum(int(np.sum(laspy.read(p).classification == 7)) for p in demo.sources[EPOCHS[0]])
    assert 0.005 * als < noise < 0.02 * als


def test_no_points_inside_the_gasometer(demo):
    apothem = GASOMETER_RADIUS * np.cos(np.pi / GASOMETER_SIDES)
    for epoch in EPOCHS[:2]:
        for path in demo.sources[epoch]:
            xyz, las = _points(path, demo.origin)
            real = las.classification != 7               # multipath echoes lie behind walls
            r = np.hypot(xyz[:, 0], xyz[:, 1])
            inside = real & (r < apothem - 0.3) & (xyz[:, 2] > 0.5) & (xyz[:, 2] < GASOMETER_EAVE)
            assert not inside.any(), f"{path.name}: {inside.sum()} points inside the Gasometer"


def test_tls_sees_nothing_behind_the_gasometer(demo):
    site = build_site(7)
    station = np.array([0.0, 80.0])                      # station 5, north of the Gasometer
    xyz, las = _points(demo.sources[EPOCHS[1]][4], demo.origin)
    rel = xyz[:, :2] - station
    dist = np.hypot(rel[:, 0], rel[:, 1])
    bearing = np.arctan2(rel[:, 0], -rel[:, 1])          # 0 = towards the Gasometer (south)
    d = np.hypot(*station)
    half = np.arcsin((GASOMETER_RADIUS - 2.0) / d)
    sector = np.abs(bearing) < half
    # any ray reaching beyond the far wall below 50 m would have crossed the Gasometer
    behind = sector & (dist > d + GASOMETER_RADIUS) & (xyz[:, 2] < 50.0)
    assert not behind.any()
    near_wall = sector & (np.abs(dist - (d - GASOMETER_RADIUS)) < 1.5) & (xyz[:, 2] > 2.0)
    assert near_wall.sum() > 20                          # the wall itself is seen
    # and the same geometry cast directly: a ray to the ground behind stops at the wall
    origin = np.array([[*station, float(site.terrain.z(*station)) + 1.7]])
    target = np.array([0.0, -60.0, float(site.terrain.z(0.0, -60.0))])
    direction = (target - origin) / np.linalg.norm(target - origin)
    scene = site.scene(EPOCHS[1])
    t, face, _ = Raycaster(scene).cast(origin, direction)
    assert scene.labels[face[0]] == Label.GASOMETER and t[0] < d


def test_truth_matches_scene_and_numeric_volumes(demo):
    site = build_site(7)
    doc = json.loads(demo.truth_path.read_text(encoding="utf-8"))
    pairs = [(c["from_epoch"], c["to_epoch"]) for c in doc["comparisons"]]
    assert pairs == [(EPOCHS[0], EPOCHS[1]), (EPOCHS[1], EPOCHS[2]), (EPOCHS[0], EPOCHS[2])]
    ids = [sorted(ch["id"] for ch in c["changes"]) for c in doc["comparisons"]]
    assert ids[0] == ["built-pavilion", "felled-tree-06"]
    assert ids[1] == ["earthworks-mound", "removed-building-gabled"]
    assert ids[2] == sorted(ids[0] + ids[1])
    for c in doc["comparisons"]:
        for ch in c["changes"]:
            f = site.feature(ch["feature"])
            assert ch["sign"] == ("added" if c["to_epoch"] in f.epochs else "removed")
            assert ch["volume_m3"] == pytest.approx(f.volume, abs=1e-3)
            assert ch["approximate"] == (f.label == Label.TREE)
            if f.solid is not None:                     # divergence theorem on the closed body
                assert f.solid.signed_volume() == pytest.approx(f.volume, rel=0.01)
                assert ch["area_m2"] == pytest.approx(f.area, rel=0.01)
    mound = site.feature("mound")
    a, h = mound.extra["base_radius_m"], mound.extra["height_m"]
    assert mound.volume == pytest.approx(np.pi * h * (3 * a * a + h * h) / 6)
    assert abs(mound.solid.signed_volume() / mound.volume - 1) < 0.01
    house = site.feature("building-gabled")
    assert house.volume == pytest.approx(22 * 12 * (7.5 + 4.5 / 2))


def test_obj_mtl_texture_load_with_uvs(demo):
    trimesh = pytest.importorskip("trimesh")
    obj = demo.sources[EPOCHS[2]][0]
    mtl, jpg = demo.companions[EPOCHS[2]]
    assert f"map_Kd {jpg.name}" in mtl.read_text()
    mesh = trimesh.load(obj, process=False)
    assert len(mesh.faces) == demo.face_counts[EPOCHS[2]] > 50_000
    uv = mesh.visual.uv
    assert uv.shape == (len(mesh.vertices), 2) and uv.min() >= 0.0 and uv.max() <= 1.0
    assert mesh.visual.material.image.size == (TEXTURE, TEXTURE)
    local = np.asarray(mesh.vertices) - np.asarray(demo.origin)
    assert np.abs(local[:, :2]).max() <= 201.0 and local[:, 2].max() > 110.0
    # the ground is gone where the mound and the buildings stand; the house is gone by 2024
    site = build_site(7)
    near_house = points_in_polygon(local[:, :2], site.feature("building-gabled").footprint)
    assert local[near_house, 2].max() < 1.0
    mound = site.feature("mound")
    centre = np.array(mound.axis)
    in_mound = points_in_polygon(local[:, :2], centre + 0.5 * (mound.footprint - centre))
    assert local[in_mound, 2].min() > 1.0               # only the heap's surface in its middle
