"""VR interaction as pure code (no runtime, no GL): casting against a real mesh, teleport with
fade, snap turn, miniature/life size, epochs, heatmap, a level horizon — driven by scripted
controller input frames."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vr_site import NEW, OLD, A, B, grid

from viewer.vr.interaction import (
    Comfort,
    HandInput,
    InputFrame,
    Interaction,
    Mode,
    Pose,
    WalkSurface,
)
from viewer.vr.xform import transform_points, yaw_matrix

FADE = Comfort().fade_s


@pytest.fixture(scope="module")
def surfaces() -> list[WalkSurface]:
    return [WalkSurface(grid(e).vertices, grid(e).faces) for e in (A, B)]


def make(surfaces, mode: Mode = Mode.LIFE_SIZE, epoch: int = 1, heatmap: bool = False,
         floor_y: float = 0.0) -> Interaction:
    bounds = (np.array([-50.0, -50.0, 0.0]), np.array([50.0, 50.0, 15.0]))
    return Interaction(surfaces, bounds, [A, B], [False, True], start_epoch=epoch, mode=mode,
                       heatmap=heatmap, floor_y=floor_y)


def yaw_quat(angle: float) -> tuple[float, float, float, float]:
    """Turn about +y (counter-clockwise seen from above)."""
    return (0.0, math.sin(angle / 2), 0.0, math.cos(angle / 2))


def pitch_quat(angle: float) -> tuple[float, float, float, float]:
    return (math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2))


HEAD = Pose((0.3, 1.7, 0.2))


def frame(t: float, head: Pose = HEAD, **kw) -> InputFrame:
    return InputFrame(time=t, head=head, **kw)


def site_under_head(inter: Interaction, head: Pose = HEAD) -> np.ndarray:
    p = np.array([[head.position[0], inter.floor_y, head.position[2]]])
    return transform_points(inter.site_from_stage(), p)[0]


def brute_force(surface: WalkSurface, a: np.ndarray, b: np.ndarray) -> float | None:
    """Segment parameter of the first crossing with any triangle, testing them all."""
    v = surface.vertices.astype(np.float64)[surface.faces]
    e1, e2 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
    d = b - a
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1 / np.where(ok, det, 1), 0)
    s = a - v[:, 0]
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    w = (q @ d) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t >= 0) & (t <= 1)
    return float(t[hit].min()) if hit.any() else None


# --------------------------------------------------------------------------- casting

def test_drop_finds_ground_and_roof(surfaces):
    ground = surfaces[1].drop(0.0, -40.0)
    assert ground is not None and ground.walkable
    assert ground.point[2] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(ground.normal, [0, 0, 1], atol=1e-6)
    roof = surfaces[1].drop(20.0, 0.0)          # the new building's flat roof
    assert roof is not None and roof.walkable and roof.point[2] == pytest.approx(NEW[4])
    assert surfaces[0].drop(20.0, 0.0).point[2] == pytest.approx(0.0)   # not there in A


def test_wall_is_hit_but_not_walkable(surfaces):
    hit = surfaces[1].cast(np.array([[0.0, 0.0, 5.0], [25.0, 0.0, 5.0]]))
    assert hit is not None and not hit.walkable
    assert NEW[0] - 1.0 <= hit.point[0] <= NEW[0]   # on the 1 m grid's slope up to x = 10
    assert hit.normal[0] < -0.9                      # faces back towards the caster


def test_miss_outside_the_site(surfaces):
    assert surfaces[1].cast(np.array([[80.0, 80.0, 5.0], [90.0, 90.0, -5.0]])) is None
    assert surfaces[1].cast(np.array([[0.0, 0.0, 20.0], [5.0, 5.0, 18.0]])) is None


def test_first_crossing_along_a_polyline(surfaces):
    # over the new building (above its roof) and down beyond it: the ground at x = 40
    arc = np.array([[0.0, 0.0, 12.0], [35.0, 0.0, 12.0], [40.0, 0.0, -1.0]])
    hit = surfaces[1].cast(arc)
    assert hit is not None and hit.segment == 1 and hit.point[2] == pytest.approx(0.0, abs=1e-6)
    # the same arc a little lower meets the roof first
    hit = surfaces[1].cast(np.array([[0.0, 0.0, 12.0], [25.0, 0.0, 8.0], [40.0, 0.0, -1.0]]))
    assert hit is not None and hit.point[0] < NEW[1] + 1e-6 and hit.point[2] > 5


def test_cast_agrees_with_testing_every_triangle(surfaces):
    rng = np.random.default_rng(11)
    s = surfaces[0]
    for _ in range(60):
        a = np.r_[rng.uniform(-60, 60, 2), rng.uniform(-2, 20)]
        b = a + np.r_[rng.uniform(-40, 40, 2), rng.uniform(-25, 10)]
        hit = s.cast(np.array([a, b]))
        expected = brute_force(s, a, b)
        if expected is None:
            assert hit is None
        else:
            assert hit is not None
            np.testing.assert_allclose(hit.point, a + (b - a) * expected, atol=1e-6)


# --------------------------------------------------------------------------- placement

def test_starts_on_the_ground_at_the_south_edge_facing_north(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    start = site_under_head(inter)
    assert start[1] < -40 and start[2] == pytest.approx(0.0, abs=1e-6)
    m = inter.stage_from_site()
    north = m[:3, :3] @ [0.0, 1.0, 0.0]
    np.testing.assert_allclose(north, [0, 0, -1], atol=1e-9)   # north is straight ahead
    assert inter.rig.scale == 1.0


def test_start_faces_where_the_head_looks(surfaces):
    head = Pose((0.0, 1.6, 0.0), yaw_quat(math.radians(90)))   # looking to stage -x
    inter = make(surfaces)
    inter.update(frame(0.0, head))
    north = inter.stage_from_site()[:3, :3] @ [0.0, 1.0, 0.0]
    np.testing.assert_allclose(north, [-1, 0, 0], atol=1e-9)


def test_local_space_floor_below_the_head(surfaces):
    inter = make(surfaces, floor_y=-1.6)
    head = Pose((0.0, 0.0, 0.0))
    inter.update(frame(0.0, head))
    ground = transform_points(inter.stage_from_site(), site_under_head(inter, head)[None])[0]
    assert ground[1] == pytest.approx(-1.6)


# --------------------------------------------------------------------------- snap turn

def test_snap_turn_30_degrees_about_the_head(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    under = site_under_head(inter)
    yaw0 = inter.rig.yaw
    assert inter.update(frame(0.1, right=HandInput(stick=(0.9, 0.0)))) == ["turn-right"]
    assert inter.rig.yaw == pytest.approx(yaw0 + math.radians(30))
    np.testing.assert_allclose(site_under_head(inter), under, atol=1e-9)
    # holding the stick does not turn again; back to the centre, then left
    assert inter.update(frame(0.2, right=HandInput(stick=(0.9, 0.0)))) == []
    inter.update(frame(0.3, right=HandInput(stick=(0.1, 0.0))))
    assert inter.update(frame(0.4, right=HandInput(stick=(-0.8, 0.0)))) == ["turn-left"]
    assert inter.rig.yaw == pytest.approx(yaw0)


def test_turning_right_brings_what_was_on_the_right_ahead(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    east = inter.stage_from_site()[:3, :3] @ [1.0, 1.0, 0.0]      # ahead-right (north-east)
    inter.update(frame(0.1, left=HandInput(stick=(1.0, 0.0))))
    after = inter.stage_from_site()[:3, :3] @ [1.0, 1.0, 0.0]
    # more ahead (-z) and less to the right (+x) than before
    assert after[0] < east[0] and after[2] < east[2]


# --------------------------------------------------------------------------- teleport

AIM = Pose((0.2, 1.2, -0.2), pitch_quat(math.radians(15)))


def test_teleport_aims_an_arc_fades_and_arrives(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    start = site_under_head(inter)
    for i in range(3):
        inter.update(frame(0.1 + i * 0.011, right=HandInput(AIM, (0.0, 0.95))))
    aim = inter.aim
    assert aim is not None and aim.valid and aim.target is not None
    assert aim.points[0] == pytest.approx(AIM.position)
    assert aim.target[1] == pytest.approx(0.0, abs=1e-6)            # on the floor plane
    assert 3.0 < -aim.target[2] < 15.0                               # some metres ahead
    target_site = transform_points(inter.site_from_stage(), aim.target[None])[0]

    t = 0.2
    assert inter.update(frame(t, right=HandInput(AIM, (0.0, 0.0)))) == []   # released
    assert inter.aim is None
    inter.update(frame(t + FADE / 2))
    assert 0.3 < inter.fade < 0.7
    np.testing.assert_allclose(site_under_head(inter), start, atol=1e-9)    # not yet
    assert inter.update(frame(t + FADE + 0.001)) == ["teleport"]
    assert inter.fade == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(site_under_head(inter), target_site, atol=1e-6)
    inter.update(frame(t + 2 * FADE + 0.01))
    assert inter.fade == 0.0


def test_teleport_button_works_like_the_stick(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    inter.update(frame(0.1, left=HandInput(AIM, teleport=True)))
    assert inter.aim is not None and inter.aim.hand == "left" and inter.aim.valid
    inter.update(frame(0.2, left=HandInput(AIM, teleport=False)))
    inter.update(frame(0.2 + FADE + 0.01))
    assert "teleport" in inter.events


def test_teleport_at_a_wall_is_refused(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    # stand 3 m west of the new building's wall (which rises from x = 9 to 10), face east
    inter._arrive(np.array([7.0, 0.0, 0.0]))
    flat_east = Pose((0.3, 1.5, 0.2), yaw_quat(math.radians(-90)))
    inter.update(frame(1.0, right=HandInput(flat_east, (0.0, 1.0))))
    aim = inter.aim
    assert aim is not None and not aim.valid and aim.target is not None
    wall = transform_points(inter.site_from_stage(), aim.target[None])[0]
    assert 9.0 <= wall[0] <= 10.0 and 0.5 < wall[2] < 1.5
    assert inter.update(frame(1.1, right=HandInput(flat_east, (0.0, 0.0)))) == ["blocked"]
    inter.update(frame(1.5))
    assert inter.fade == 0.0
    np.testing.assert_allclose(site_under_head(inter)[:2], [7.0, 0.0], atol=1e-9)


def test_pulling_back_cancels(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    start = site_under_head(inter)
    inter.update(frame(0.1, right=HandInput(AIM, (0.0, 1.0))))
    assert inter.update(frame(0.2, right=HandInput(AIM, (0.0, -0.9)))) == ["cancel"]
    inter.update(frame(0.3))
    inter.update(frame(0.6))
    np.testing.assert_allclose(site_under_head(inter), start)
    assert inter.aim is None


# --------------------------------------------------------------------------- scale

def test_miniature_and_back_to_the_same_spot(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    inter.update(frame(0.1, right=HandInput(stick=(1.0, 0.0))))     # turned, to remember
    life = inter.stage_from_site().copy()
    inter.update(frame(0.2, scale=True))
    inter.update(frame(0.2 + FADE + 0.01, scale=True))
    assert inter.mode == Mode.MINIATURE
    assert inter.rig.scale == pytest.approx(Comfort().table_size / 100.0)
    centre = transform_points(inter.stage_from_site(), np.array([[0.0, 0.0, 0.0]]))[0]
    c = Comfort()
    assert centre[1] == pytest.approx(HEAD.position[1] - c.table_drop)
    assert math.hypot(centre[0] - HEAD.position[0], centre[2] - HEAD.position[2]) == \
        pytest.approx(c.table_distance)
    inter.update(frame(1.0, scale=False))
    inter.update(frame(1.1, scale=True))
    inter.update(frame(1.1 + FADE + 0.01))
    assert inter.mode == Mode.LIFE_SIZE
    np.testing.assert_allclose(inter.stage_from_site(), life)


def test_pointing_at_the_miniature_lands_there_at_life_size(surfaces):
    inter = make(surfaces, mode=Mode.MINIATURE)
    inter.update(frame(0.0))
    roof_stage = transform_points(inter.stage_from_site(), np.array([[20.0, 0.0, 10.0]]))[0]
    hand = np.array([0.2, 1.3, -0.2])
    d = roof_stage - hand
    yaw = math.atan2(-d[0], -d[2])
    pitch = math.atan2(d[1], math.hypot(d[0], d[2]))
    q = np.array(yaw_quat(yaw))
    p = np.array(pitch_quat(pitch))                        # yaw, then pitch: q * p
    quat = (q[3] * p[0] + q[0] * p[3] + q[1] * p[2] - q[2] * p[1],
            q[3] * p[1] - q[0] * p[2] + q[1] * p[3] + q[2] * p[0],
            q[3] * p[2] + q[0] * p[1] - q[1] * p[0] + q[2] * p[3],
            q[3] * p[3] - q[0] * p[0] - q[1] * p[1] - q[2] * p[2])
    aim = Pose(tuple(hand), quat)
    inter.update(frame(0.1, right=HandInput(aim, (0.0, 1.0))))
    assert inter.aim is not None and inter.aim.valid
    inter.update(frame(0.2, right=HandInput(aim, (0.0, 0.0))))
    inter.update(frame(0.2 + FADE + 0.01))
    assert inter.mode == Mode.LIFE_SIZE and inter.rig.scale == 1.0
    np.testing.assert_allclose(site_under_head(inter), [20.0, 0.0, 10.0], atol=0.05)


def test_miniature_snap_turn_is_a_turntable(surfaces):
    inter = make(surfaces, mode=Mode.MINIATURE)
    inter.update(frame(0.0))
    centre = transform_points(inter.stage_from_site(), np.array([[0.0, 0.0, 0.0]]))[0]
    inter.update(frame(0.1, right=HandInput(stick=(1.0, 0.0))))
    np.testing.assert_allclose(
        transform_points(inter.stage_from_site(), np.array([[0.0, 0.0, 0.0]]))[0], centre)


# --------------------------------------------------------------------------- epochs, heatmap

def test_next_and_previous_epoch_with_a_fade_and_limits(surfaces):
    inter = make(surfaces, epoch=1)
    inter.update(frame(0.0))
    assert inter.update(frame(0.1, next_epoch=True)) == ["blocked"]        # B is the last
    inter.update(frame(0.2))
    inter.update(frame(0.3, previous_epoch=True))
    assert inter.epoch == B and inter.fade == 0.0
    assert inter.update(frame(0.3 + FADE + 0.001)) == ["epoch"]
    assert inter.epoch == A
    inter.update(frame(0.3 + 2 * FADE + 0.01))
    inter.update(frame(1.0, previous_epoch=False))
    assert inter.update(frame(1.1, previous_epoch=True)) == ["blocked"]


def test_buttons_wait_for_the_fade(surfaces):
    inter = make(surfaces, epoch=0)
    inter.update(frame(0.0))
    inter.update(frame(0.1, scale=True))                     # starts a transition
    assert inter.update(frame(0.15, scale=True, next_epoch=True)) == []
    inter.update(frame(0.1 + FADE + 0.01))
    assert inter.epoch == A and inter.mode == Mode.MINIATURE


def test_heatmap_only_where_there_is_change_data(surfaces):
    inter = make(surfaces, epoch=0)
    inter.update(frame(0.0))
    assert inter.update(frame(0.1, heatmap=True)) == ["no-change-data"]
    assert not inter.heatmap
    inter.update(frame(0.2))
    inter.update(frame(0.3, next_epoch=True))
    inter.update(frame(0.3 + FADE + 0.01))
    assert inter.epoch == B
    assert inter.update(frame(1.0, heatmap=True)) == ["heatmap"]
    assert inter.heatmap and inter.heatmap_visible
    inter.update(frame(1.1))
    inter.update(frame(1.2, previous_epoch=True))
    inter.update(frame(1.2 + FADE + 0.01))
    assert inter.heatmap and not inter.heatmap_visible          # A has no change values
    inter.update(frame(2.0, heatmap=True))                      # can still switch it off
    assert not inter.heatmap


def switch(inter: Interaction, t: float, **button) -> float:
    """Press a button that fades, and run the frames until the fade is over."""
    inter.update(frame(t, **button))
    inter.update(frame(t + FADE + 0.001))
    inter.update(frame(t + 2 * FADE + 0.01))
    return t + 2 * FADE + 0.02


def test_recenter_keeps_the_user_where_they_stand(surfaces):
    inter = make(surfaces)
    inter.update(frame(0.0))
    inter.update(frame(0.1, right=HandInput(stick=(1.0, 0.0))))       # a snap turn
    inter.update(frame(0.2))
    inter._arrive(np.array([-40.0, 30.0, 0.0]))
    yaw = inter.rig.yaw
    switch(inter, 0.5, recenter=True)
    np.testing.assert_allclose(site_under_head(inter), [-40.0, 30.0, 0.0], atol=1e-6)
    assert inter.rig.yaw == yaw                     # the view does not swing round either
    mini = make(surfaces, mode=Mode.MINIATURE)
    mini.update(frame(0.0))
    placed = mini.stage_from_site().copy()
    mini.rig.yaw += 1.0                             # turned the turntable
    switch(mini, 0.5, recenter=True)
    np.testing.assert_allclose(mini.stage_from_site(), placed, atol=1e-9)


@pytest.mark.parametrize("roof, start, target", [(OLD, 0, 1), (NEW, 1, 0)])
def test_an_epoch_switch_keeps_the_user_on_the_ground(surfaces, roof, start, target):
    """On a roof that the other epoch does not have: after the switch the user stands on that
    epoch's ground below, not in the air (the demo's Gasometer roof at 117 m, back to 2021)."""
    x0, x1, y0, y1, h = roof
    inter = make(surfaces, epoch=start)
    inter.update(frame(0.0))
    inter._arrive(np.array([(x0 + x1) / 2, (y0 + y1) / 2, h]))
    np.testing.assert_allclose(site_under_head(inter)[2], h, atol=1e-6)
    switch(inter, 0.5, **({"next_epoch": True} if target > start else {"previous_epoch": True}))
    assert inter.epoch_index == target
    np.testing.assert_allclose(site_under_head(inter), [(x0 + x1) / 2, (y0 + y1) / 2, 0.0],
                               atol=1e-4)


def test_an_epoch_switch_on_unchanged_ground_does_not_move_the_user(surfaces):
    inter = make(surfaces, epoch=1)
    inter.update(frame(0.0))
    inter._arrive(np.array([0.0, -30.0, 0.0]))
    switch(inter, 0.5, previous_epoch=True)
    np.testing.assert_allclose(site_under_head(inter), [0.0, -30.0, 0.0], atol=1e-4)


def test_height_calibration_for_a_seated_visitor(surfaces):
    seated_head = Pose((0.3, 1.15, 0.2))
    inter = make(surfaces)
    inter.seated = True
    inter.update(frame(0.0, head=seated_head))
    # the eye is 1.6 m above the site's ground although the head is 1.15 m above the floor
    assert inter.ground_y == pytest.approx(-0.45)
    eye = transform_points(inter.site_from_stage(), np.array([seated_head.position]))[0]
    assert eye[2] == pytest.approx(inter.start_point()[2] + 1.6)
    assert "calibrated" in inter.events
    standing = make(surfaces)                       # a standing visitor calibrates too
    standing.update(frame(0.0, head=Pose((0.0, 1.3, 0.0)), calibrate=True))
    assert standing.ground_y == pytest.approx(-0.3)


def test_reset_between_visitors(surfaces):
    inter = make(surfaces, epoch=1)
    inter.update(frame(0.0))
    start = inter.stage_from_site().copy()
    t = switch(inter, 0.1, previous_epoch=True)
    inter.update(frame(t, heatmap=True))
    inter.update(frame(t + 0.1, scale=True))
    inter.calibrate_height()
    inter.reset()
    inter.update(frame(t + 1.0))
    assert (inter.epoch_index, inter.mode, inter.heatmap, inter.ground_y) == \
        (1, Mode.LIFE_SIZE, False, 0.0)
    np.testing.assert_allclose(inter.stage_from_site(), start, atol=1e-9)


def test_choosing_the_comparison_and_significant_only(surfaces):
    bounds = (np.array([-50.0, -50.0, 0.0]), np.array([50.0, 50.0, 15.0]))
    epochs = ["2019", "2021", "2024"]
    inter = Interaction([surfaces[0], surfaces[1], surfaces[1]], bounds, epochs,
                        compare_with=[[], ["2019"], ["2021", "2019"]], start_epoch=2)
    inter.update(frame(0.0))
    assert inter.compared_with == "2021" and not inter.heatmap
    inter.update(frame(0.1, compare=True))          # first press: the heatmap comes on
    assert inter.heatmap and inter.compared_with == "2021"
    inter.update(frame(0.2))
    inter.update(frame(0.3, compare=True))          # then it steps to the next earlier epoch
    assert inter.compared_with == "2019" and inter.change_index == 1
    inter.update(frame(0.4))
    inter.update(frame(0.5, compare=True))
    assert inter.compared_with == "2021"
    inter.update(frame(0.6, significant=True))
    assert inter.significant_only and "significant" in inter.events
    first = Interaction([surfaces[0], surfaces[1], surfaces[1]], bounds, epochs,
                        compare_with=[[], ["2019"], ["2021", "2019"]], start_epoch=0)
    first.update(frame(0.0))
    assert first.update(frame(0.1, compare=True)) == ["no-change-data"]


# --------------------------------------------------------------------------- comfort

def test_the_horizon_stays_level_whatever_happens(surfaces):
    """Random sticks, buttons and hand poses for 600 frames: the world is only ever turned
    about the vertical — site up stays stage up, and the scale stays uniform."""
    rng = np.random.default_rng(5)
    inter = make(surfaces)
    t, seen = 0.0, set()
    for _ in range(600):
        t += 1 / 72
        hand = Pose(tuple(rng.uniform([-0.4, 0.9, -0.6], [0.4, 1.6, 0.0])),
                    tuple(np.r_[rng.normal(size=3) * 0.4, 1.0] /
                          np.linalg.norm(np.r_[rng.normal(size=3) * 0.4, 1.0])))
        head = Pose(tuple(rng.uniform([-1, 1.5, -1], [1, 1.8, 1])),
                    yaw_quat(rng.uniform(-math.pi, math.pi)))
        buttons = rng.random(5) < 0.02
        seen |= set(inter.update(InputFrame(
            t, head, right=HandInput(hand, tuple(rng.choice([-1.0, 0.0, 0.2, 1.0], 2)),
                                     bool(rng.random() < 0.1)),
            next_epoch=buttons[0], previous_epoch=buttons[1], heatmap=buttons[2],
            scale=buttons[3], recenter=buttons[4])))
        r = inter.stage_from_site()[:3, :3] / inter.rig.scale
        np.testing.assert_allclose(r @ [0, 0, 1], [0, 1, 0], atol=1e-12)
        np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
        yaw = inter.rig.yaw
        np.testing.assert_allclose(r, (yaw_matrix(yaw)[:3, :3] @ np.array(
            [[1, 0, 0], [0, 0, 1], [0, -1, 0]])), atol=1e-12)
    assert {"teleport", "turn-left", "turn-right", "scale", "epoch"} <= seen


def test_old_building_is_gone_in_the_new_epoch(surfaces):
    x0, x1, y0, y1, h = OLD
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    assert surfaces[0].drop(*centre).point[2] == pytest.approx(h)
    assert surfaces[1].drop(*centre).point[2] == pytest.approx(0.0)


def test_an_epoch_whose_surface_is_still_building_has_no_targets(surfaces):
    from concurrent.futures import Future

    pending: Future = Future()
    bounds = (np.array([-50.0, -50.0, 0.0]), np.array([50.0, 50.0, 15.0]))
    inter = Interaction([pending, surfaces[1]], bounds, [A, B], start_epoch=1)
    inter.update(frame(0.0))
    inter.update(frame(0.1, previous_epoch=True))
    inter.update(frame(0.1 + FADE + 0.01))
    assert inter.epoch == A
    inter.update(frame(0.5, right=HandInput(AIM, (0.0, 1.0))))
    assert inter.aim is not None and inter.aim.target is None and not inter.aim.valid
    pending.set_result(surfaces[0])                  # the background build finished
    inter.update(frame(0.6, right=HandInput(AIM, (0.0, 1.0))))
    assert inter.aim.valid and inter.aim.target is not None


def test_headset_off_for_a_while_resets_the_visit(surfaces):
    inter = make(surfaces, epoch=1)
    inter.reset_after_s = 30.0
    inter.update(frame(0.0))
    start = inter.stage_from_site().copy()
    t = switch(inter, 0.1, previous_epoch=True)
    inter.update(frame(t, heatmap=True))
    assert inter.epoch_index == 0
    for dt in (1.0, 10.0, 29.0):                    # taken off: not yet
        assert inter.presence(False, t + dt) is False
    assert inter.presence(True, t + 29.5) is False  # put on again in time: nothing lost
    assert inter.epoch_index == 0
    assert inter.presence(False, t + 40.0) is False
    assert inter.presence(False, t + 70.1) is True
    assert inter.presence(False, t + 90.0) is False  # once per absence
    inter.presence(True, t + 91.0)
    inter.update(frame(t + 91.0))
    assert (inter.epoch_index, inter.heatmap) == (1, False)
    np.testing.assert_allclose(inter.stage_from_site(), start, atol=1e-9)
