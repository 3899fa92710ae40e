"""to_site_frame / from_site_frame: precision, reprojection, and honest refusals."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pyproj.transformer import TransformerGroup

from processing.errors import ProcessingError
from processing.georef import from_site_frame, to_site_frame

ORIGIN = (350000.0, 5708000.0, 40.0)
SITE = "EPSG:25832+7837"
GASOMETER = np.array([[6.8725, 51.4922, 60.0]])       # lon, lat (WGS 84), Oberhausen


def test_same_crs_subtracts_the_origin_in_float64() -> None:
    xyz = np.array([[350000.123, 5708000.456, 40.789]])
    site = to_site_frame(xyz, SITE, SITE, ORIGIN)
    assert site.dtype == np.float64
    np.testing.assert_allclose(site, [[0.123, 0.456, 0.789]], atol=1e-9)
    back = from_site_frame(site, SITE, ORIGIN)
    np.testing.assert_allclose(back, xyz, atol=1e-9)
    # Names differ, definition is the same: no transformation at all.
    wkt = "EPSG:25832+7837"
    np.testing.assert_array_equal(to_site_frame(xyz, wkt, SITE, ORIGIN), site)


def utm32_grs80(lon: float, lat: float) -> tuple[float, float]:
    """UTM zone 32 by Krüger's series to third order (better than 1 mm in the zone): an
    answer that does not come from PROJ."""
    a, f = 6378137.0, 1 / 298.257222101
    n = f / (2 - f)
    big_a = a / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    alpha = (n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16, 13 * n**2 / 48 - 3 * n**3 / 5,
             61 * n**3 / 240)
    phi, dlam = np.radians(lat), np.radians(lon - 9.0)
    c = 2 * np.sqrt(n) / (1 + n)
    t = np.sinh(np.arctanh(np.sin(phi)) - c * np.arctanh(c * np.sin(phi)))
    xi, eta = np.arctan2(t, np.cos(dlam)), np.arctanh(np.sin(dlam) / np.sqrt(1 + t * t))
    east = eta + sum(al * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
                     for j, al in enumerate(alpha, 1))
    north = xi + sum(al * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
                     for j, al in enumerate(alpha, 1))
    return 500000 + 0.9996 * big_a * east, 0.9996 * big_a * north


def test_gasometer_from_wgs84_to_utm_and_back() -> None:
    site = to_site_frame(GASOMETER, "EPSG:4326", "EPSG:25832", ORIGIN)
    # ETRS89 and WGS 84 coincide at this accuracy (EPSG's "ETRS89 to WGS 84 (1)" is a null
    # shift), so the UTM projection on GRS80 gives the expected metres.
    e, n = utm32_grs80(GASOMETER[0, 0], GASOMETER[0, 1])
    np.testing.assert_allclose(site[0, :2], [e - ORIGIN[0], n - ORIGIN[1]], atol=0.001)
    assert 352_000 < e < 352_500 and 5_706_500 < n < 5_707_000
    assert site[0, 2] == pytest.approx(60.0 - ORIGIN[2])
    lonlat = from_site_frame(site, "EPSG:25832", ORIGIN, "EPSG:4326")
    np.testing.assert_allclose(lonlat, GASOMETER, atol=1e-10)


def test_geographic_source_into_compound_site_crs(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        site = to_site_frame(GASOMETER, "EPSG:4326", SITE, ORIGIN, source="drone.xyz")
    assert np.all(np.abs(site[:, :2]) < 3000)
    assert site[0, 2] == pytest.approx(20.0)           # heights taken as they are
    assert "drone.xyz" in caplog.text and "no vertical datum" in caplog.text


def test_horizontal_only_source_in_the_site_system(caplog) -> None:
    xyz = np.array([[350000.123, 5708000.456, 40.789]])
    with caplog.at_level(logging.WARNING):
        site = to_site_frame(xyz, "EPSG:25832", SITE, ORIGIN, source="tile.laz")
    np.testing.assert_array_equal(site, xyz - np.array(ORIGIN))
    assert "tile.laz" in caplog.text and "heights are taken unchanged" in caplog.text


def test_refused_without_crs() -> None:
    with pytest.raises(ProcessingError) as err:
        to_site_frame(np.zeros((2, 3)), None, SITE, ORIGIN, source="scan_0815.e57")
    message = str(err.value)
    assert "scan_0815.e57" in message and 'crs = "EPSG:' in message


def test_refused_for_unknown_crs() -> None:
    with pytest.raises(ProcessingError, match="old.laz.*EPSG:99999"):
        to_site_frame(np.zeros((1, 3)), "EPSG:99999", SITE, ORIGIN, source="old.laz")


@pytest.mark.filterwarnings("ignore:Best transformation is not available")
def test_missing_geoid_grid_is_refused_not_guessed() -> None:
    # Ellipsoidal heights -> DHHN2016 needs the GCG2016 geoid; without it PROJ would fall
    # back to a "ballpark" step that leaves heights ~45 m wrong.
    group = TransformerGroup("EPSG:4979", SITE, always_xy=True)
    if group.best_available:
        pytest.skip("the GCG2016 geoid grid is installed here")
    with pytest.raises(ProcessingError, match="gnss.xyz.*gcg2016"):
        to_site_frame(np.array([[6.87, 51.49, 100.0]]), "EPSG:4979", SITE, ORIGIN,
                      source="gnss.xyz")


def test_many_points_reproject_vectorised() -> None:
    rng = np.random.default_rng(0)
    xyz = np.array(ORIGIN) + rng.uniform(-500, 500, (200_000, 3))
    site = to_site_frame(xyz, "EPSG:32632", "EPSG:25832", ORIGIN)
    assert site.shape == xyz.shape and site.flags.c_contiguous
    # WGS 84 / UTM 32N and ETRS89 / UTM 32N differ by PROJ's null-ish shift only.
    assert np.abs(site - (xyz - np.array(ORIGIN))).max() < 1.0
    back = from_site_frame(site, "EPSG:25832", ORIGIN, "EPSG:32632")
    np.testing.assert_allclose(back, xyz, atol=1e-6)


def test_bad_shape() -> None:
    with pytest.raises(ValueError, match="N, 3"):
        to_site_frame(np.zeros(3), SITE, SITE, ORIGIN)
