"""VR scene loading from a real archive (LOD by budget, change values, annotations), the frame
math (poses, projections, site <-> stage) and the hand panel."""

from __future__ import annotations

import math

import numpy as np
import pytest
import vr_site
from vr_site import A, B

from archive import Archive
from viewer.model.change_display import colour_scale
from viewer.vr.panel import CARD_IMAGE_SHARE, CardState, PanelState, render_card, render_panel
from viewer.vr.scene_data import SceneError, load_scene
from viewer.vr.xform import (
    SITE_TO_STAGE,
    forward_yaw,
    pose_matrix,
    projection_from_fov,
    rigid_inverse,
    yaw_matrix,
)


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory):
    return vr_site.build(tmp_path_factory.mktemp("vr"))


def test_load_scene_reads_epochs_changes_and_markers(archive_root):
    scene = load_scene(archive_root)                       # the only site
    assert scene.site_id == vr_site.SITE and scene.name.get("en") == "VR test block"
    assert [e.id for e in scene.epochs] == [A, B]
    assert [e.lod for e in scene.epochs] == [0, 0]
    a, b = scene.epochs
    assert a.n_faces == b.n_faces == 2 * 100 * 100
    assert a.change is None
    assert b.change is not None and (b.change.a, b.change.b, b.change.key) == (A, B, "m3c2")
    expected = vr_site.change()
    np.testing.assert_array_equal(np.isnan(b.change.values), np.isnan(expected))
    np.testing.assert_allclose(b.change.values[~np.isnan(expected)],
                               expected[~np.isnan(expected)])
    assert b.change.limit == colour_scale(expected).limit == 20.0   # the desktop's rule
    assert tuple(b.mesh.vertex_colors[0, :3]) == vr_site.TINT[B]
    assert b.mesh.normals is not None and b.mesh.normals.shape == b.mesh.vertices.shape
    assert [m.id for m in scene.markers] == ["hall"]
    assert not scene.markers[0].applies_to(A) and scene.markers[0].applies_to(B)
    lo, hi = scene.bounds
    np.testing.assert_allclose(lo, [-50, -50, 0])
    np.testing.assert_allclose(hi, [50, 50, 15])
    assert scene.index(None) == 1 and scene.index(A) == 0


def test_stories_come_with_the_scene(archive_root):
    scene = load_scene(archive_root)
    assert [s.id for s in scene.stories] == [vr_site.STORY]
    assert [st.id for st in scene.story(vr_site.STORY).stops] == ["overview", "new-hall", "today"]
    with pytest.raises(SceneError, match="no story 'nope'.*tour"):
        scene.story("nope")
    # the last stop's picture, as a file of the site object
    assert list(scene.images) == [vr_site.PICTURE]
    assert scene.images[vr_site.PICTURE].read_bytes() == vr_site.picture()


def test_lod_follows_the_triangle_budget(archive_root):
    small = load_scene(archive_root, face_budget=10_000)   # lod0 has 20000, lod1 5000
    assert [e.lod for e in small.epochs] == [1, 1]
    assert small.epochs[1].change is None                  # change values exist for lod0 only
    tiny = load_scene(archive_root, face_budget=10)        # nothing fits: the coarsest
    assert [e.lod for e in tiny.epochs] == [1, 1]
    forced = load_scene(archive_root, lod=1)
    assert [e.lod for e in forced.epochs] == [1, 1]
    assert forced.epochs[0].n_faces == 2 * 50 * 50


def test_lod_prefers_one_with_change_values(tmp_path):
    root = vr_site.build(tmp_path, lods=(101, 81))         # lod1 has 12800 triangles
    scene = load_scene(root, face_budget=50_000)
    assert [e.lod for e in scene.epochs] == [0, 0]
    assert scene.epochs[1].change is not None


def test_scene_errors_say_what_to_do(archive_root, tmp_path):
    with pytest.raises(SceneError, match="no LOD 7.*lod0, lod1"):
        load_scene(archive_root, lod=7)
    scene = load_scene(archive_root)
    with pytest.raises(SceneError, match="2020-01-01.*" + A):
        scene.index("2020-01-01")
    two = Archive.init(tmp_path / "two", durable=False)
    for site in ("one", "other"):
        with two.writer(site, message="empty", user="tests") as w:
            w.add_json("site.json", {**vr_site.manifest(), "id": site})
    with pytest.raises(SceneError, match="2 sites.*one, other"):
        load_scene(tmp_path / "two")
    with pytest.raises(SceneError, match="no meshes yet.*stadtzeit ingest"):
        load_scene(tmp_path / "two", "one")


# --------------------------------------------------------------------------- frames

def test_site_north_is_stage_forward_and_up_is_up():
    np.testing.assert_allclose(SITE_TO_STAGE[:3, :3] @ [0, 1, 0], [0, 0, -1])
    np.testing.assert_allclose(SITE_TO_STAGE[:3, :3] @ [0, 0, 1], [0, 1, 0])
    np.testing.assert_allclose(SITE_TO_STAGE[:3, :3] @ [1, 0, 0], [1, 0, 0])


def test_forward_yaw_matches_yaw_matrix():
    for angle in (-2.5, -0.3, 0.0, 0.7, 3.0):
        q = (0.0, math.sin(angle / 2), 0.0, math.cos(angle / 2))
        assert forward_yaw(q) == pytest.approx(angle)
        fwd = yaw_matrix(angle)[:3, :3] @ [0, 0, -1]
        np.testing.assert_allclose(pose_matrix((0, 0, 0), q)[:3, :3] @ [0, 0, -1], fwd,
                                   atol=1e-12)


def test_projection_maps_the_field_of_view_edges_to_the_clip_edges():
    left, right, up, down = -0.9, 0.6, 0.7, -0.8          # asymmetric, as headsets have
    p = projection_from_fov(left, right, up, down, 0.1, 100.0)
    for ax, ay, nx, ny in ((left, 0, -1, None), (right, 0, 1, None), (0, up, None, 1),
                           (0, down, None, -1)):
        point = np.array([math.tan(ax) * 5, math.tan(ay) * 5, -5.0, 1.0])
        clip = p @ point
        ndc = clip[:3] / clip[3]
        if nx is not None:
            assert ndc[0] == pytest.approx(nx)
        if ny is not None:
            assert ndc[1] == pytest.approx(ny)
    for depth, ndc_z in ((0.1, -1.0), (100.0, 1.0)):
        clip = p @ [0, 0, -depth, 1]
        assert clip[2] / clip[3] == pytest.approx(ndc_z)


def test_rigid_inverse_with_scale():
    m = pose_matrix((1.0, 2.0, 3.0), (0.1, 0.7, 0.2, 0.68)) @ np.diag([0.01, 0.01, 0.01, 1])
    np.testing.assert_allclose(rigid_inverse(m) @ m, np.eye(4), atol=1e-12)


# --------------------------------------------------------------------------- panel

def state(**kw) -> PanelState:
    base = dict(site="Gasometer Oberhausen", epoch=B, epoch_number=2, epoch_count=2,
                mode="life-size", language="de")
    return PanelState(**{**base, **kw})


def test_panel_is_translucent_with_text():
    img = render_panel(state())
    assert img.shape == (600, 640, 4) and img.dtype == np.uint8
    assert img[0, 0, 3] == 0 and 200 < img[200, 320, 3] < 255     # rounded corner, panel
    bright = (img[..., :3].min(axis=2) > 200) & (img[..., 3] > 200)
    assert 500 < bright.sum() < 0.3 * img.shape[0] * img.shape[1]   # white text


def test_panel_changes_with_what_it_says():
    de, en = render_panel(state()), render_panel(state(language="en"))
    assert not np.array_equal(de, en)
    assert not np.array_equal(de, render_panel(state(mode="miniature")))
    heat = render_panel(state(heatmap=True, change_from=A, limit=20.0))
    red = (heat[..., 0] > 150) & (heat[..., 1] < 80) & (heat[..., 2] < 80)
    blue = (heat[..., 2] > 150) & (heat[..., 0] < 80)
    assert red.sum() > 100 and blue.sum() > 100                     # the colour scale
    cols_red, cols_blue = np.nonzero(red)[1], np.nonzero(blue)[1]
    assert cols_blue.mean() < cols_red.mean()                       # blue left, red right
    assert np.array_equal(render_panel(state()), de)                # same state, same image


def test_panel_states_the_scale_in_plain_words_and_significant_only():
    from viewer.model.change_display import ColourScale

    scale = ColourScale(20.0, "significant", 0.01)
    base = render_panel(state(heatmap=True, change_from=A, limit=20.0))
    explained = render_panel(state(heatmap=True, change_from=A, limit=20.0, scale=scale))
    sig = render_panel(state(heatmap=True, change_from=A, limit=20.0, scale=scale,
                             significant_only=True))
    rows = lambda img: np.flatnonzero(((img[..., :3].min(axis=2) > 150)          # noqa: E731
                                       & (img[..., 3] > 200)).any(axis=1))
    assert rows(explained).max() > rows(base).max() + 40     # the scale's sentence below
    assert not np.array_equal(sig, explained)
    assert rows(explained).max() < explained.shape[0] - 20   # and it fits on the panel


def test_long_names_are_shortened_not_cut_off():
    img = render_panel(state(site="Slinky Springs to Fame, Rehberger-Brücke über den "
                                   "Rhein-Herne-Kanal im Kaisergarten"))
    text = (img[..., :3].min(axis=2) > 200) & (img[..., 3] > 200)
    assert not text[:, -30:].any()                                  # nothing in the margin


def test_coarser_levels_load_and_far_views_draw_them(archive_root):
    from viewer.vr.scene_data import detail_level

    scene = load_scene(archive_root)
    b = scene.epochs[1]
    assert [lv.lod for lv in b.levels] == [0, 1]              # lod1 loaded for far views
    assert b.levels[1].n_faces < b.n_faces and b.levels[1].edge > b.edge
    assert b.levels[1].changes == []                          # change values: lod0 only
    pixel = 1e-3                                              # radians per pixel
    assert detail_level(b, 10.0, pixel) == 0                  # 1 m edges at 10 m: visible
    assert detail_level(b, 5000.0, pixel) == 1                # 2 m edges at 5 km: not
    assert detail_level(b, 5000.0, pixel, change_from=A) == 0  # the heatmap needs lod0
    forced = load_scene(archive_root, lod=0)
    assert [len(e.levels) for e in forced.epochs] == [1, 1]   # --lod: that one only


def colour(img: np.ndarray, rgb) -> np.ndarray:
    return (np.abs(img[..., :3].astype(int) - rgb).max(axis=-1) <= 12) & (img[..., 3] == 255)


def test_a_stop_picture_stands_right_of_its_text_whole(tmp_path):
    png = tmp_path / "today.png"
    png.write_bytes(vr_site.picture())
    text = "Die neue Halle steht seit 2021 an der Ostseite des Blocks. " * 3
    card = render_card(CardState("Heute", text, "Rundgang · 3/3", png))
    plain = render_card(CardState("Heute", text, "Rundgang · 3/3"))
    green, magenta = colour(card, vr_site.PICTURE_GREEN), colour(card, vr_site.PICTURE_MAGENTA)
    assert not colour(plain, vr_site.PICTURE_GREEN).any()
    h, w = card.shape[:2]
    rows, cols = np.nonzero(green | magenta)
    assert cols.min() >= w * (1 - CARD_IMAGE_SHARE) - w / 18 - 2     # in the right-hand box
    aspect = (np.ptp(cols) + 1) / (np.ptp(rows) + 1)
    assert abs(aspect - 1.5) < 0.03, aspect                            # whole, not stretched
    assert 1.8 < green.sum() / max(magenta.sum(), 1) < 2.2             # a third magenta...
    assert np.nonzero(magenta)[1].min() > np.nonzero(green)[1].max() - 3   # ...on the right
    light = (card[..., :3].min(axis=-1) > 200) & (card[..., 3] == 255)
    body = light[h // 4:, : int(w * (1 - CARD_IMAGE_SHARE)) - w // 18]
    assert body.sum() > 1000                                           # the text, left of it
    assert not light[h // 4: int(h * 0.8), cols.min():].any()         # none under the picture


def test_a_broken_stop_picture_leaves_the_text_and_says_which_file(tmp_path, caplog):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a JPEG")
    card = render_card(CardState("Heute", "Text", "", bad))
    assert np.array_equal(card, render_card(CardState("Heute", "Text", "")))
    assert "broken.jpg" in caplog.text and "cannot be shown" in caplog.text


def test_tiles_cover_every_triangle_once_and_a_view_sees_its_side():
    """Tiles of the test site's mesh: a permutation of the faces in contiguous runs, each
    inside its box; an (orthographic) view of the west half keeps the tiles that reach into
    it, one of the east half the others' complement, both views together every tile."""
    from viewer.vr.culling import make_tiles

    mesh = vr_site.grid(B)
    tiles = make_tiles(mesh.vertices, mesh.faces)
    assert len(tiles.first) == 64
    np.testing.assert_array_equal(np.sort(tiles.order), np.arange(len(mesh.faces)))
    np.testing.assert_array_equal(tiles.first[1:], np.cumsum(tiles.count)[:-1])
    corners = mesh.vertices[mesh.faces[tiles.order]]
    tile_of = np.repeat(np.arange(64), tiles.count)
    assert (corners.min(axis=1) >= tiles.lo[tile_of] - 1e-6).all()
    assert (corners.max(axis=1) <= tiles.hi[tile_of] + 1e-6).all()

    def ortho(x0: float, x1: float) -> np.ndarray:       # x0..x1, y -50..50, z -1..20
        m = np.diag([2 / (x1 - x0), 2 / 100, 2 / 21, 1.0])
        m[:3, 3] = [-(x1 + x0) / (x1 - x0), 0.0, -19 / 21]
        return m

    west, east = tiles.visible([ortho(-50, -0.01)]), tiles.visible([ortho(0.01, 50)])
    np.testing.assert_array_equal(west, tiles.lo[:, 0] <= -0.01)
    np.testing.assert_array_equal(east, tiles.hi[:, 0] >= 0.01)
    assert tiles.visible([ortho(-50, -0.01), ortho(0.01, 50)]).all()
    assert not tiles.visible([ortho(60, 80)]).any()
    first, count = tiles.runs(west)
    assert count.sum() == tiles.count[west].sum() and len(first) == 8   # a run per row
