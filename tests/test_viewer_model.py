"""The viewer's model, scene description and archive reading, without Qt or a window."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from viewer_fixtures import (
    ADDED,
    E1,
    E2,
    E3,
    LOD95,
    ORIGIN,
    REMOVED,
    SITE,
    build_archive,
)

from viewer.model.changes import compute_change
from viewer.model.scene import (
    INSIGNIFICANT_GREY,
    NO_VALUE_GREY,
    ProductError,
    change_colors,
    choose_lod,
    compose,
    glb_face_count,
    mesh_key,
    read_change_values,
    read_glb,
)
from viewer.model.state import (
    Camera,
    CompareMode,
    Measurement,
    MeasureMode,
    Region,
    ViewerModel,
    apply_pan,
    apply_pinch,
    polygon_area_3d,
    polygon_area_horizontal,
    touch_camera,
)
from viewer.model.store import ArchiveStore, read_viewpoints


@pytest.fixture(scope="module")
def archive3(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("arch3"), epochs=(E1, E2, E3), lods=(0, 1))


# --------------------------------------------------------------------------- geometry

def test_measurement_known_answers() -> None:
    m = Measurement(MeasureMode.DISTANCE, ((0, 0, 0), (3, 4, 12)))
    r = m.results()
    assert r["distance"] == pytest.approx(13.0)
    assert r["horizontal"] == pytest.approx(5.0)
    assert r["height"] == pytest.approx(12.0)
    rect = np.array([[0, 0, 5], [10, 0, 5], [10, 20, 5], [0, 20, 5]], float)
    assert polygon_area_horizontal(rect) == pytest.approx(200.0)
    # a roof plane tilted 30 degrees: horizontal area stays, slope-true area grows by 1/cos
    tilted = rect.copy()
    tilted[:, 2] = tilted[:, 1] * math.tan(math.radians(30))
    assert polygon_area_horizontal(tilted) == pytest.approx(200.0)
    assert polygon_area_3d(tilted) == pytest.approx(200.0 / math.cos(math.radians(30)))
    area = Measurement(MeasureMode.AREA, tuple(map(tuple, rect))).results()
    assert area["area"] == pytest.approx(200.0) and area["perimeter"] == pytest.approx(60.0)


def test_model_measure_points_and_crs_coordinates_in_float64() -> None:
    model = ViewerModel()
    model.set_measure_mode(MeasureMode.HEIGHT)
    model.add_measure_point((1.0, 2.0, 0.25))
    model.add_measure_point((1.0, 2.0, 15.75))
    assert model.measurement.results()["height"] == pytest.approx(15.5)
    model.add_measure_point((5.0, 5.0, 5.0))  # a third click starts again
    assert len(model.measurement.points) == 1
    model.sites = []
    from viewer.model.state import SiteInfo, Text
    model.site = SiteInfo("s", Text(), Text(), "EPSG:25832", ORIGIN)
    e, n, h = model.site_to_crs((0.001, -0.002, 0.0005))
    assert (e, n, h) == (ORIGIN[0] + 0.001, ORIGIN[1] - 0.002, ORIGIN[2] + 0.0005)
    assert n - ORIGIN[1] == pytest.approx(-0.002, abs=1e-9)  # millimetres survive at 5.7e6 m


def test_camera_operations() -> None:
    cam = Camera.fit((-50, 50, -50, 50, 0, 10))
    assert cam.focal_point == pytest.approx((0, 0, 5))
    assert cam.position[2] > 5 and cam.position[0] < 0 and cam.position[1] < 0
    d = cam.distance
    assert cam.dolly(2).distance == pytest.approx(d / 2)
    turned = cam.orbit(90)
    assert turned.distance == pytest.approx(d)
    assert turned.position[2] == pytest.approx(cam.position[2])
    flown = cam.fly(10, 0, 2)
    horizontal = np.asarray(flown.position) - np.asarray(cam.position)
    assert np.linalg.norm(horizontal[:2]) == pytest.approx(10)
    assert horizontal[2] == pytest.approx(2)
    assert Camera.from_json(cam.to_json()) == cam
    assert cam.lerp(turned, 0.0) == cam
    # touch: a pinch of 2 halves the distance, a 10 degree twist orbits; a pan keeps distance
    assert apply_pinch(cam, 2.0, 0.0).distance == pytest.approx(d / 2)
    assert apply_pinch(cam, 1.0, 10.0).distance == pytest.approx(d)
    panned = apply_pan(cam, 100, 0, 500)
    assert panned.distance == pytest.approx(d)
    assert panned.focal_point != cam.focal_point
    # raw touch: fingers spread x2 and turned a quarter; one finger orbits
    two = touch_camera(cam, [(100, 100), (200, 100)], [(50, 100), (250, 100)], 500)
    assert two.distance == pytest.approx(d / 2)
    turned = touch_camera(cam, [(100, 100), (200, 100)], [(150, 50), (150, 150)], 500)
    assert turned.distance == pytest.approx(d)
    assert turned.position[2] == pytest.approx(cam.position[2])
    assert touch_camera(cam, [(0, 0)], [(30, 0)], 500) == cam.orbit(-9.0)


def test_region_from_summary_variants() -> None:
    r = Region.from_json({"id": 3, "sign": "removed", "area_m2": 12.5, "volume_m3": -40,
                          "bbox": [[0, 0, 0], [4, 3, 2]]})
    assert r.sign == -1 and r.area == 12.5 and r.centroid == (2.0, 1.5, 1.0)
    assert Region.from_json({"volume": 5.0, "centroid": [1, 2]}).sign == 1
    assert Region.from_json({"volume": 5.0, "partial": True}).partial
    assert not Region.from_json({"volume": 5.0}).partial
    assert Region.from_json({"volume": 5.0, "centroid": [1, 2]}).centroid == (1.0, 2.0, 0.0)
    assert Region.from_json({"kind": -1}).sign == -1
    # processing.change.regions.ChangeRegion.to_dict()
    r = Region.from_json({"id": 1, "sign": "added", "area": 400.0, "volume": 4000.0,
                          "centroid": [20.0, 0.0, 5.0], "bbox_min": [10, -10, 0],
                          "bbox_max": [30, 10, 10]})
    assert (r.sign, r.area, r.volume, r.centroid) == (1, 400.0, 4000.0, (20.0, 0.0, 5.0))
    assert r.size == pytest.approx(np.linalg.norm([20, 20, 10]))


# --------------------------------------------------------------------------- products

def test_lod_choice_by_face_count(archive3) -> None:
    counts = {k: glb_face_count(archive3.meshes[f"{E1}/lod{k}"]) for k in (0, 1)}
    assert counts == {0: 20000, 1: 5000}
    assert choose_lod(counts, budget=300_000) == 0
    assert choose_lod(counts, budget=10_000) == 1
    assert choose_lod(counts, budget=100) == 1  # nothing fits: the coarsest


def test_read_glb_site_frame_float32_and_colours(archive3) -> None:
    mesh = read_glb(archive3.meshes[f"{E1}/lod0"], ORIGIN)
    assert mesh.vertices.dtype == np.float32 and mesh.n_faces == 20000
    assert mesh.bounds == pytest.approx((-50, 50, -50, 50, 0, 15))
    assert mesh.colors is not None and tuple(mesh.colors[0]) == (205, 160, 90)
    assert mesh.origin.dtype == np.float64 and tuple(mesh.origin) == ORIGIN


def test_damaged_glb_is_named_not_crashed(tmp_path: Path, archive3) -> None:
    data = archive3.meshes[f"{E1}/lod0"].read_bytes()
    bad = tmp_path / "cut.glb"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(ProductError, match="truncated"):
        read_glb(bad)
    junk = tmp_path / "junk.glb"
    junk.write_bytes(b"not a glb at all, just text")
    with pytest.raises(ProductError, match="signature"):
        glb_face_count(junk)


def test_change_colours_sign_and_significance() -> None:
    values = np.array([2.0, -2.0, 0.0, 0.01, np.nan], np.float32)
    rgb = change_colors(values, limit=2.0, level_of_detection=LOD95, significant_only=True)
    red, blue = rgb[0].astype(int), rgb[1].astype(int)
    assert red[0] > red[2] + 100 and blue[2] > blue[0] + 100
    assert tuple(rgb[3]) == tuple(INSIGNIFICANT_GREY) and tuple(rgb[2]) == tuple(
        INSIGNIFICANT_GREY)
    assert tuple(rgb[4]) == tuple(NO_VALUE_GREY)
    plain = change_colors(values, limit=2.0, level_of_detection=LOD95, significant_only=False)
    assert tuple(plain[3]) != tuple(INSIGNIFICANT_GREY)
    # M3C2-style products: one LoD per vertex, so 0.3 m can be noise where 0.2 m is not
    from viewer.model.scene import change_from_products, heat_colors_for
    d = np.array([0.3, 0.2, -0.5], np.float32)
    ch = change_from_products(E1, E2, 0, {"distance": d, "lod": np.array([0.4, 0.1, 0.2])},
                              {"level_of_detection": 0.05})
    assert ch.significant.tolist() == [False, True, True]
    grey = heat_colors_for(ch, significant_only=True)
    assert [tuple(c) == tuple(INSIGNIFICANT_GREY) for c in grey] == [True, False, False]


def test_site_info_from_a_real_archive(archive3) -> None:
    store = ArchiveStore(archive3.root)
    assert store.site_ids() == [SITE]
    info, version = store.site(SITE)
    assert info.name.get("de") == "Testblock Altstadt" and info.origin == ORIGIN
    assert info.epoch_ids == [E1, E2, E3]
    e1 = info.epoch(E1)
    assert e1.capture == "airborne-lidar" and e1.lods.keys() == {0, 1}
    assert e1.face_counts == {0: 20000, 1: 5000}
    assert e1.registration == {"method": "icp", "rmse": 0.021}
    assert e1.provenance["events"] == "2"
    assert [a.id for a in info.annotations] == ["old-hall", "square"]
    assert info.annotations[0].applies_to(E1) and not info.annotations[0].applies_to(E2)
    assert info.annotations[1].applies_to(E3)
    (ch,) = info.changes
    assert (ch.a, ch.b, ch.key) == (E1, E2, "m3c2") and 0 in ch.lods and ch.summary
    assert read_viewpoints(version) == {}
    values = read_change_values(version.files[ch.lods[0]], n_vertices=101 * 101)
    assert values["distance"].min() == pytest.approx(-15) and values["distance"].max() == 10


def test_a_pair_compared_again_shows_its_newest_product_and_never_a_stale_one(
        tmp_path: Path) -> None:
    from viewer_fixtures import change_summary, change_values

    from processing.compare_params import ALGORITHM_VERSION

    built = build_archive(tmp_path, epochs=(E1, E2), change=False)
    values = change_values(E1, E2)
    buf = tmp_path / "change.npz"
    np.savez(buf, distance=values)

    def store(folder: str, **fields) -> None:
        with built.archive.writer(SITE, message=f"compare {folder}", user="tests") as w:
            w.add_file(f"changes/{E1}__{E2}/{folder}/lod0.npz", buf)
            w.add_json(f"changes/{E1}__{E2}/{folder}/summary.json",
                       change_summary(E1, E2, values) | fields)

    # made by `compare` before summaries named their algorithm (version 4): superseded
    store("dod-ffff0000", key="ffff0000")
    info, _ = ArchiveStore(built.root).site(SITE)
    assert info.change(E1, E2) is None and info.stale(E1, E2, "dod")
    # compared again today, under a key that sorts before the old one: this one is shown
    store("dod-0000ffff", key="0000ffff", algorithm=ALGORITHM_VERSION)
    info, _ = ArchiveStore(built.root).site(SITE)
    assert info.change(E1, E2, "dod").key == "dod-0000ffff" and not info.stale(E1, E2, "dod")
    # and again, later: the newest version's product comes first
    store("dod-00000001", key="00000001", algorithm=ALGORITHM_VERSION)
    info, _ = ArchiveStore(built.root).site(SITE)
    assert info.change(E1, E2).key == "dod-00000001"


def test_saving_a_viewpoint_is_a_new_version(archive3) -> None:
    store = ArchiveStore(archive3.root)
    before = store.read(SITE).number
    cam = Camera((1.0, 2.0, 3.0), (0.0, 0.0, 0.0))
    new = store.save_viewpoints(SITE, {"entrance": cam}, "viewer: save viewpoint 'entrance'")
    assert new == before + 1
    version = store.read(SITE)
    assert read_viewpoints(version) == {"entrance": cam}
    assert archive3.archive.log(SITE)[-1].message == "viewer: save viewpoint 'entrance'"


def test_compose_for_every_mode(archive3) -> None:
    model = ViewerModel()
    store = ArchiveStore(archive3.root)
    info, _ = store.site(SITE)
    model.set_sites([info])
    model.open_site(SITE)
    assert model.epoch == E3 and model.epoch_a == E2
    meshes = {mesh_key(e, 1): read_glb(archive3.meshes[f"{e}/lod1"]) for e in (E1, E2, E3)}
    lods = {E1: 1, E2: 1, E3: 1}
    single = compose(model, meshes, "primary", lods)
    assert [(layer.epoch, layer.opacity) for layer in single.layers] == [(E3, 1.0)]
    model.set_epoch(E2, fade=True)
    model.set_fade(0.25)
    fading = compose(model, meshes, "primary", lods)
    assert [(layer.epoch, layer.opacity) for layer in fading.layers] == [(E3, 0.75), (E2, 0.25)]
    model.set_fade(1.0)
    model.set_epoch(E3)
    model.set_compare_mode(CompareMode.SIDE_BY_SIDE)
    assert [la.epoch for la in compose(model, meshes, "primary", lods).layers] == [E2]
    assert [la.epoch for la in compose(model, meshes, "secondary", lods).layers] == [E3]
    model.set_compare_mode(CompareMode.OVERLAY)
    model.set_overlay_opacity(0.3)
    assert [(la.epoch, round(la.opacity, 2)) for la in
            compose(model, meshes, "primary", lods).layers] == [(E2, 0.7), (E3, 0.3)]
    model.set_compare_mode(CompareMode.SWIPE)
    swipe = compose(model, meshes, "primary", lods)
    assert [(la.epoch, la.clip) for la in swipe.layers] == [(E2, "left"), (E3, "right")]
    assert swipe.swipe == 0.5
    assert compose(model, {}, "primary", lods).layers == []  # nothing loaded yet: nothing drawn


def test_viewer_computes_change_when_none_is_stored(archive3) -> None:
    a = read_glb(archive3.meshes[f"{E1}/lod0"])
    b = read_glb(archive3.meshes[f"{E2}/lod0"])
    steps = []
    change = compute_change(E1, E2, 0, a, b, lambda f, t: steps.append(f), lambda: False)
    assert change.computed and steps[-1] == 1.0 and "C2M" in change.method
    signs = sorted((r.sign, round(r.centroid[0])) for r in change.regions if r.area > 100)
    assert signs == [(-1, -20), (1, 20)]
    v = b.vertices
    x0, x1, y0, y1, h = ADDED
    on_new_roof = (v[:, 0] > x0 + 2) & (v[:, 0] < x1 - 2) & (v[:, 1] > y0 + 2) & \
        (v[:, 1] < y1 - 2)
    x0, x1, y0, y1, h = REMOVED
    where_removed = (v[:, 0] > x0 + 2) & (v[:, 0] < x1 - 2) & (v[:, 1] > y0 + 2) & \
        (v[:, 1] < y1 - 2)
    assert np.nanmedian(change.values[on_new_roof]) > 5       # added: positive
    assert np.nanmedian(change.values[where_removed]) < -5    # removed: negative


def test_computed_change_has_no_value_where_a_did_not_capture() -> None:
    """B reaching beyond A's scan (a smaller area) is 'no value', not a false change."""
    from viewer_fixtures import grid_mesh

    from viewer.model.scene import MeshData
    full = grid_mesh(E1, 51)
    v = np.asarray(full.vertices)
    keep = v[:, 0] <= 0  # A covers the western half only
    index = np.cumsum(keep) - 1
    a = MeshData(v[keep], index[full.faces[keep[full.faces].all(axis=1)]])
    other = grid_mesh(E2, 51)
    b = MeshData(np.asarray(other.vertices), other.faces.astype(np.int64))
    change = compute_change(E1, E2, 0, a, b, lambda f, t: None, lambda: False)
    east, west = b.vertices[:, 0] > 2, b.vertices[:, 0] < -1
    assert np.isnan(change.values[east]).all()
    assert np.isfinite(change.values[west]).all()


def test_text_says_when_it_exists_only_in_the_other_language() -> None:
    from viewer.model.state import Text

    t = Text(de="", en="Gas holder")
    assert t.get("de") == "Gas holder" and t.only_in_other("de")
    assert not t.only_in_other("en")
    assert not Text(de="Turm", en="Tower").only_in_other("de")
    assert not Text().only_in_other("de")
