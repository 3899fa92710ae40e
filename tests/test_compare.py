"""Change products in the archive, checked against the demo site's ground truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_archive

from processing import gltf
from processing.compare import CompareParams, compare
from processing.demo import scene
from processing.errors import ProcessingError

SITE = "gasometer-demo"
FIRST, MIDDLE, LAST = "2019-06-15", "2021-09-01", "2024-05-20"


@pytest.fixture(scope="module")
def work(demo_site, tmp_path_factory):
    _, archive, _ = demo_site
    return copy_archive(archive, tmp_path_factory.mktemp("compare") / "archive")


@pytest.fixture(scope="module")
def truth(demo_site):
    sources, _, _ = demo_site
    return json.loads(Path(sources.truth_path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dod_first_last(work):
    return compare(work, SITE, FIRST, LAST, method="dod", params=CompareParams(cell_size=1.0))


def truth_changes(truth, a, b):
    for c in truth["comparisons"]:
        if c["from_epoch"] == a and c["to_epoch"] == b:
            return c["changes"]
    raise KeyError((a, b))


def region_at(regions, change, sign):
    """The largest region of ``sign`` whose centroid lies in the change's footprint box."""
    lo, hi = np.asarray(change["bbox"]["min"][:2]), np.asarray(change["bbox"]["max"][:2])
    inside = [r for r in regions if r["sign"] == sign
              and np.all(np.asarray(r["centroid"][:2]) >= lo - 2.0)
              and np.all(np.asarray(r["centroid"][:2]) <= hi + 2.0)]
    return max(inside, key=lambda r: abs(r["volume"]), default=None)


def test_every_true_change_is_a_region_with_the_right_sign(dod_first_last, truth):
    regions = dod_first_last.summary["regions"]
    for change in truth_changes(truth, FIRST, LAST):
        found = region_at(regions, change, change["sign"])
        assert found is not None, f"{change['id']} ({change['sign']}) not found"


def test_totals_are_the_sum_of_the_regions(dod_first_last):
    s = dod_first_last.summary
    added = sum(r["volume"] for r in s["regions"] if r["sign"] == "added")
    removed = sum(r["volume"] for r in s["regions"] if r["sign"] == "removed")
    assert s["volumes"]["gained"] == pytest.approx(added)
    assert s["volumes"]["lost"] == pytest.approx(-removed)
    assert s["volume"] == s["volumes"] and "volume_all_cells" in s
    assert s["registration"]["epochs"][LAST]["converged"] is not None


def test_volumes_within_five_percent(dod_first_last, truth):
    regions = dod_first_last.summary["regions"]
    for change in truth_changes(truth, FIRST, LAST):
        if change.get("approximate") or change["volume_m3"] <= 10:
            continue  # trees have no exact volume
        found = region_at(regions, change, change["sign"])
        error = abs(abs(found["volume"]) - change["volume_m3"]) / change["volume_m3"]
        assert error < 0.05, (f"{change['id']}: {abs(found['volume']):.0f} m³ vs truth "
                              f"{change['volume_m3']:.0f} m³ ({100 * error:.1f} %)")


def test_no_false_region_on_unchanged_ground(dod_first_last, truth):
    site = scene.build_site(truth["seed"])
    changes = truth_changes(truth, FIRST, LAST)
    unchanged = [site.feature(f) for f in truth["unchanged"]]
    for r in dod_first_last.summary["regions"]:
        xy = np.asarray(r["centroid"][:2])
        near_change = any(np.all(xy >= np.asarray(c["bbox"]["min"][:2]) - 5)
                          and np.all(xy <= np.asarray(c["bbox"]["max"][:2]) + 5)
                          for c in changes)
        # trees and the gas holder's rim are unchanged objects, not ground
        near_object = any(np.hypot(*(xy - np.asarray(f.axis))) < reach(f) + 6 for f in unchanged)
        if not (near_change or near_object):
            assert abs(r["volume"]) <= 1.0, f"false region on unchanged ground: {r}"


def reach(feature) -> float:
    """Radius of a feature's footprint around its axis."""
    return float(np.hypot(*(np.asarray(feature.footprint)[:, :2] - feature.axis).T).max())


def test_products_stored_and_reused(work, dod_first_last):
    head = work.read(SITE)
    prefix = dod_first_last.prefix
    assert head.exists(f"{prefix}/summary.json")
    for k in range(3):
        with np.load(head.path(f"{prefix}/lod{k}.npz")) as npz:
            mesh = gltf.read_glb(head.path(f"epochs/{LAST}/mesh/lod{k}.glb"))
            assert npz["distance"].shape == (len(mesh.vertices),)
            assert npz["significant"].dtype == bool
    versions = len(work.log(SITE))
    again = compare(work, SITE, FIRST, LAST, method="dod", params=CompareParams(cell_size=1.0))
    assert again.reused and again.version is None
    assert len(work.log(SITE)) == versions


@pytest.mark.parametrize("method", ["m3c2", "c2c"])
def test_epoch_against_itself_is_not_significant(work, method):
    params = CompareParams(core_spacing=4.0, normal_radius=2.0, cylinder_radius=1.5,
                           max_depth=5.0)
    result = compare(work, SITE, MIDDLE, MIDDLE, method=method, params=params, store=False)
    assert result.summary["statistics"]["share_significant"] in (0.0, None)
    assert result.summary["regions"] == []


def test_m3c2_cores_and_level_of_detection(work, truth):
    # the house is 12 m high: the cylinder must reach from its ridge to the ground
    params = CompareParams(core_spacing=4.0, normal_radius=2.0, cylinder_radius=1.5,
                           max_depth=15.0)
    result = compare(work, SITE, FIRST, LAST, method="m3c2", params=params)
    s = result.summary
    assert s["registration_error"] > 0  # taken from the ingest provenance
    assert s["level_of_detection"] > s["registration_error"] * 1.96
    head = work.read(SITE)
    import laspy
    las = laspy.read(head.path(f"{result.prefix}/cores.laz"))
    names = set(las.point_format.extra_dimension_names)
    assert {"m3c2_distance", "m3c2_lod95", "m3c2_significant", "m3c2_n1", "m3c2_n2"} <= names
    # the demolished house shows as significant removal on its footprint
    house = next(c for c in truth_changes(truth, FIRST, LAST)
                 if c["id"].startswith("removed-building"))
    found = region_at(s["regions"], house, "removed")
    assert found is not None
    assert abs(found["volume"]) == pytest.approx(house["volume_m3"], rel=0.15)
    assert found["volume_uncertainty95"] > 0 and "core_spacing" in s["region_volume_method"]
    assert s["volumes"]["lost"] == pytest.approx(-sum(r["volume"] for r in s["regions"]
                                                      if r["sign"] == "removed"))


def test_bad_parameters_and_unknowns_are_clear_errors(work):
    with pytest.raises(ProcessingError, match="cylinder_radius"):
        compare(work, SITE, FIRST, LAST, method="m3c2",
                params=CompareParams(cylinder_radius=0.0), store=False)
    with pytest.raises(ProcessingError, match="larger than"):
        compare(work, SITE, FIRST, LAST, method="m3c2",
                params=CompareParams(normal_radius=5000.0), store=False)
    with pytest.raises(ProcessingError, match="no epoch 1999-01-01"):
        compare(work, SITE, "1999-01-01", LAST)
    exe = Path(sys.executable).with_name("stadtzeit")
    out = subprocess.run([str(exe), "compare", "nowhere", FIRST, LAST, "--archive",
                          str(work.root)], capture_output=True, text=True)
    assert out.returncode == 1 and "nowhere" in out.stderr and "Traceback" not in out.stderr
