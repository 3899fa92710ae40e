"""write_laz / read_laz_site: real LAZ files written and read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import laspy
import numpy as np
import pytest

from processing.errors import ProcessingError
from processing.lazio import read_laz_site, write_laz
from processing.readers import read_points
from processing.types import PointCloud

ORIGIN = np.array([350000.0, 5708000.0, 40.0])
POINT = np.array([350000.123, 5708000.456, 40.789])
SITE_CRS = "EPSG:25832+7837"


def _cloud(n: int = 1000, rgb: bool = True) -> PointCloud:
    rng = np.random.default_rng(7)
    real = ORIGIN + rng.uniform(-300, 300, (n, 3))
    real[0] = POINT
    return PointCloud(
        xyz=real - ORIGIN, frame="site", crs=SITE_CRS,
        rgb=rng.integers(0, 65536, (n, 3)).astype(np.uint16) if rgb else None,
        intensity=rng.integers(0, 65536, n).astype(np.uint16),
        classification=rng.integers(0, 20, n).astype(np.uint8),
        normals=rng.normal(size=(n, 3)).astype(np.float32),
        extra={"m3c2": rng.normal(size=n), "lod95": rng.random(n).astype(np.float32),
               "count": rng.integers(-5, 5, n).astype(np.int16),
               "tile": rng.integers(0, 2**40, n).astype(np.uint64),
               "significant": rng.random(n) > 0.5,
               "gps_time": np.linspace(0, 10, n)})


def test_precision_round_trip(tmp_path: Path) -> None:
    cloud = _cloud()
    path = write_laz(cloud, tmp_path / "points.laz", ORIGIN, SITE_CRS)
    back = read_points(path)
    assert back.frame == "crs"
    assert np.abs(back.xyz[0] - POINT).max() < 0.001
    assert np.abs(back.xyz - (cloud.xyz + ORIGIN)).max() <= 0.0005 + 1e-9
    site = read_laz_site(path, ORIGIN)
    assert site.frame == "site"
    assert np.abs(site.xyz[0] - (POINT - ORIGIN)).max() < 0.001
    assert np.abs(site.xyz - cloud.xyz).max() <= 0.0005 + 1e-9


def test_header_crs_and_format(tmp_path: Path) -> None:
    path = write_laz(_cloud(), tmp_path / "rgb.laz", ORIGIN, SITE_CRS)
    with laspy.open(path) as reader:
        h = reader.header
        assert (h.version.major, h.version.minor) == (1, 4)
        assert h.point_format.id == 7 and h.are_points_compressed
        assert h.global_encoding.wkt
        np.testing.assert_array_equal(h.scales, [0.001] * 3)
        assert np.abs(h.offsets - ORIGIN).max() <= 0.5
        assert any(isinstance(v, laspy.vlrs.known.WktCoordinateSystemVlr) for v in h.vlrs)
    assert read_points(path).crs == SITE_CRS
    path = write_laz(_cloud(rgb=False), tmp_path / "plain.laz", ORIGIN, "EPSG:25832")
    with laspy.open(path) as reader:
        assert reader.header.point_format.id == 6
    assert read_points(path).crs == "EPSG:25832"


def test_attributes_and_extra_dimensions_survive(tmp_path: Path) -> None:
    cloud = _cloud()
    back = read_points(write_laz(cloud, tmp_path / "x.laz", ORIGIN, SITE_CRS))
    np.testing.assert_array_equal(back.rgb, cloud.rgb)
    np.testing.assert_array_equal(back.intensity, cloud.intensity)
    np.testing.assert_array_equal(back.classification, cloud.classification)
    np.testing.assert_array_equal(back.normals, cloud.normals)
    for name, values in cloud.extra.items():
        got = back.extra[name]
        np.testing.assert_array_equal(got, values.astype(np.uint8) if values.dtype == bool
                                      else values)
        if values.dtype != bool:
            assert got.dtype == values.dtype, name


def test_extra_bytes_of_a_real_file_survive(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "shared" / "data" / "lidar" / "extra.laz"
    if not src.exists():
        pytest.skip(f"shared test data not found at {src.parent}")
    cloud = read_points(src)
    back = read_points(write_laz(cloud, tmp_path / "extra.laz", (637000, 849000, 400),
                                 "EPSG:2994"))
    for name, values in cloud.extra.items():
        np.testing.assert_array_equal(back.extra[name], values)
    assert np.abs(back.xyz - cloud.xyz).max() < 1e-6


def test_origin_far_from_the_points(tmp_path: Path) -> None:
    # Site xyz are real UTM values here (origin 0): the offset must follow the points.
    cloud = PointCloud(xyz=np.array([POINT, POINT + 1.0]), frame="site")
    back = read_points(write_laz(cloud, tmp_path / "far.laz", (0, 0, 0), "EPSG:25832"))
    assert np.abs(back.xyz - cloud.xyz).max() < 0.001


def test_refusals_leave_no_file(tmp_path: Path) -> None:
    cloud = _cloud(10)
    cloud.extra["bad"] = np.zeros(10, np.complex64)
    with pytest.raises(ProcessingError, match="bad"):
        write_laz(cloud, tmp_path / "bad.laz", ORIGIN, SITE_CRS)
    cloud.extra = {"classification": np.zeros(10)}
    with pytest.raises(ProcessingError, match="clashes"):
        write_laz(cloud, tmp_path / "bad.laz", ORIGIN, SITE_CRS)
    assert list(tmp_path.iterdir()) == []


def test_same_input_same_bytes(tmp_path: Path) -> None:
    day = dt.date(2024, 5, 17)
    a = write_laz(_cloud(), tmp_path / "a.laz", ORIGIN, SITE_CRS, created=day)
    b = write_laz(_cloud(), tmp_path / "b.laz", ORIGIN, SITE_CRS, created=day)
    assert a.read_bytes() == b.read_bytes()
    with laspy.open(a) as reader:
        assert reader.header.creation_date == day
