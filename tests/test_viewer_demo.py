"""The desktop viewer on the demo site (the archive `stadtzeit demo` makes, at test density):
the change people see on the default pair gives the Gasometer's walls a value."""

from __future__ import annotations

import numpy as np
import pytest
from viewer_fixtures import ensure_display

_no_display = ensure_display()
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

from viewer.model.scene import NO_VALUE_GREY  # noqa: E402
from viewer.model.state import CompareMode  # noqa: E402

SITE = "gasometer-demo"
RADIUS = 33.8          # the gas holder: 67.6 m across, on the site origin, 117.5 m high


def wall_vertices(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Vertices on the Gasometer's walls: near-horizontal normals, on its mantle."""
    v = vertices.astype(np.float64)
    f = faces.astype(np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for i in range(3):
        np.add.at(vn, f[:, i], fn)
    vn /= np.linalg.norm(vn, axis=1)[:, None] + 1e-12
    r = np.hypot(v[:, 0], v[:, 1])
    return (np.abs(vn[:, 2]) < 0.3) & (np.abs(r - RADIUS) < 4) & (v[:, 2] > 3) & \
        (v[:, 2] < 110)


def test_gasometer_walls_have_change_values_on_the_default_pair(qtbot, demo_site,
                                                               tmp_path) -> None:
    from conftest import copy_archive

    from processing.compare import compare
    from viewer.desktop.main_window import MainWindow

    # as `stadtzeit demo` leaves it: the DEM difference of the pair stored
    archive = copy_archive(demo_site[1], tmp_path / "archive")
    compare(archive, SITE, "2021-09-01", "2024-05-20", method="dod", user="pytest")
    w = MainWindow(language="en")
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    w.open_archive(archive.root)
    qtbot.waitUntil(lambda: bool(w.model.sites), timeout=30000)
    w.open_site(SITE)
    m = w.model
    m.set_compare_mode(CompareMode.HEATMAP)
    assert (m.epoch_a, m.epoch) == ("2021-09-01", "2024-05-20")  # the default pair
    qtbot.waitUntil(lambda: m.change is not None, timeout=300000)
    ch = m.change
    assert ch.method == "m3c2" and ch.computed  # both epochs saw walls: a 3D method
    mesh = w.controller.mesh(ch.b, ch.lod)
    walls = wall_vertices(mesh.vertices, mesh.faces)
    assert walls.sum() > 200
    no_value = float(np.isnan(ch.values[walls]).mean())
    assert no_value < 0.05, f"{100 * no_value:.1f} % of the wall vertices have no value"
    # unchanged walls read as unchanged (within a few level-of-detection widths)
    assert float(np.nanmedian(np.abs(ch.values[walls]))) < 0.15
    # and the heatmap draws them in colour, not the no-value grey
    qtbot.waitUntil(lambda: any(la.colors is not None
                                for la in w.view_area.primary.layers.values()), timeout=30000)
    (layer,) = [la for la in w.view_area.primary.layers.values() if la.colors is not None]
    grey = (layer.colors[walls] == NO_VALUE_GREY).all(axis=1)
    assert grey.mean() < 0.05
    # volumes stay 2.5D: the stored DoD's regions, with the demolished house (2574 m³) among
    assert ch.regions_method == "dod"
    volumes = sorted(round(r.volume or 0) for r in ch.regions)
    assert volumes[0] < -500 and volumes[-1] > 100, volumes  # the house gone, the mound up
    # never more than what changed (the house 2574 m³, the mound 1857 m³): the 2021 scan from
    # the ground saw no roofs, so nothing on the Gasometer, and its short regions say so
    assert -2574 * 1.05 < volumes[0] and volumes[-1] < 1857 * 1.05, volumes
    house = min(ch.regions, key=lambda r: r.volume or 0)
    assert house.partial
