"""Stories in VR as plain code: where each stop puts the visitor, next/back, autoplay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vr_site import NEW, A, B, grid

from viewer.model.stories import Bilingual, Stop, Story, StoryCamera
from viewer.vr.interaction import (
    Comfort,
    InputFrame,
    Interaction,
    Mode,
    Pointed,
    Pose,
    WalkSurface,
)
from viewer.vr.story import StoryPlayer, stop_place
from viewer.vr.xform import transform_points

FADE = Comfort().fade_s
HEAD = Pose((0.0, 1.6, 0.0))


def stop(sid: str, pos, focal, epoch=B, epoch_a=None, compare="single", duration=5.0) -> Stop:
    return Stop(id=sid, title=Bilingual(en=sid), text=Bilingual(en=f"text of {sid}"),
                camera=StoryCamera(position=pos, focal_point=focal), epoch=epoch,
                epoch_a=epoch_a, compare=compare, duration_s=duration)


STORY = Story(id="tour", site="vrblock", title=Bilingual(en="Tour"), stops=[
    stop("overview", (-60.0, -60.0, 80.0), (0.0, 0.0, 0.0), epoch=A),
    stop("new-hall", (20.0, -40.0, 1.6), (20.0, 0.0, 5.0), epoch=B, epoch_a=A,
         compare="heatmap"),
    stop("end", (0.0, 0.0, 200.0), (0.0, 1.0, 0.0), epoch=B)])


@pytest.fixture(scope="module")
def surfaces():
    return [WalkSurface(grid(e).vertices, grid(e).faces) for e in (A, B)]


def ground_of(surfaces):
    def ground(epoch, x, y):
        hit = surfaces[epoch].drop(x, y)
        return None if hit is None else float(hit.point[2])
    return ground


def test_high_cameras_are_miniatures_low_ones_life_size(surfaces):
    places = [stop_place(s, [A, B], [[], [A]], ground_of(surfaces)) for s in STORY.stops]
    assert [p.miniature for p in places] == [True, False, True]
    assert [p.epoch for p in places] == [0, 1, 1]
    assert [p.heatmap for p in places] == [False, True, False]
    assert places[0].bearing == pytest.approx(math.radians(45))     # looking north-east
    assert places[1].bearing == pytest.approx(0.0)                  # looking north
    assert places[1].site_point == pytest.approx((20.0, -40.0, 0.0))


def test_a_life_size_stop_stands_there_looking_where_the_camera_looks(surfaces):
    inter = Interaction(surfaces, (np.array([-50.0, -50, 0]), np.array([50.0, 50, 15])),
                        [A, B], compare_with=[[], [A]], start_epoch=0)
    inter.update(InputFrame(0.0, HEAD))
    p = stop_place(STORY.stops[1], [A, B], [[], [A]], ground_of(surfaces))
    inter.go_to(p.epoch, p.heatmap, p.compare, p.miniature, p.site_point, p.bearing)
    inter.update(InputFrame(FADE + 0.01, HEAD))
    assert (inter.epoch_index, inter.heatmap_visible, inter.compared_with) == (1, True, A)
    feet = transform_points(inter.site_from_stage(), np.array([[0.0, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(feet, [20.0, -40.0, 0.0], atol=1e-6)
    # the head's forward (-z) looks at the new hall, north of the stop
    ahead = transform_points(inter.site_from_stage(), np.array([[0.0, 0.0, -10.0]]))[0]
    np.testing.assert_allclose(ahead[:2], [20.0, -30.0], atol=1e-6)
    x0, x1, y0, y1, _ = NEW
    assert x0 <= ahead[0] <= x1 and ahead[1] < y0


def test_a_miniature_stop_is_seen_from_the_cameras_side(surfaces):
    inter = Interaction(surfaces, (np.array([-50.0, -50, 0]), np.array([50.0, 50, 15])),
                        [A, B], compare_with=[[], [A]], start_epoch=1)
    inter.update(InputFrame(0.0, HEAD))
    p = stop_place(STORY.stops[0], [A, B], [[], [A]], ground_of(surfaces))
    inter.go_to(p.epoch, p.heatmap, p.compare, p.miniature, p.site_point, p.bearing)
    inter.update(InputFrame(FADE + 0.01, HEAD))
    assert inter.mode == Mode.MINIATURE and inter.epoch_index == 0
    # the model's south-west corner is nearer the visitor than its north-east corner
    sw, ne = transform_points(inter.stage_from_site(), np.array([[-50.0, -50, 0],
                                                                 [50.0, 50, 0]]))
    head = np.array(HEAD.position)
    assert np.linalg.norm(sw - head) < np.linalg.norm(ne - head)


def test_player_steps_with_buttons_and_plays_by_itself():
    player = StoryPlayer(STORY)
    assert player.step(0.0).id == "overview"            # the first frame shows stop 1
    assert player.step(1.0) is None
    assert player.step(1.1, back=True) is None          # nothing before the first stop
    assert player.step(1.2) is None
    assert player.step(2.0, forward=True).id == "new-hall"
    assert player.step(2.1, forward=True) is None       # held, not pressed again
    assert player.step(6.9) is None
    assert player.step(7.05).id == "end"                # 5 s without a press: on by itself
    assert player.step(12.1).id == "overview"           # and round again
    player.restart()
    assert player.step(20.0).id == "overview"


def test_pointing_opens_the_card_of_a_marker_or_a_region(surfaces):
    from viewer.model.state import Region, Text
    from viewer.vr.cards import card_at
    from viewer.vr.scene_data import ChangeField, Marker

    hall = Marker("hall", (20.0, 0.0, 10.0), Text("Neue Halle", "New hall"), (B,),
                  Text("Gebaut 2021", "Built in 2021"))
    pavilion = Region("1", +1, 400.0, 2002.4, (20.0, 0.0, 5.0), 28.0)
    gone = Region("2", -1, 400.0, -6010.0, (-20.0, 0.0, 7.5), 28.0)
    change = ChangeField(A, B, "m3c2", np.zeros(3, np.float32), regions=[pavilion, gone])
    inter = Interaction(surfaces, (np.array([-50.0, -50, 0]), np.array([50.0, 50, 15])),
                        [A, B], compare_with=[[], [A]], start_epoch=1)
    inter.update(InputFrame(0.0, HEAD))
    inter._arrive(np.array([0.0, -40.0, 0.0]))
    # the right hand points from the south at the new hall's roof
    hand = Pose((0.25, 1.2, -0.2), (0.0, 0.0, 0.0, 1.0))
    target = transform_points(inter.stage_from_site(), np.array([[20.0, 0.0, 10.0]]))[0]
    d = target - np.array(hand.position)
    yaw = math.atan2(-d[0], -d[2])
    pitch = math.atan2(d[1], math.hypot(d[0], d[2]))
    q_yaw = np.array([0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)])
    q_pitch = np.array([math.sin(pitch / 2), 0.0, 0.0, math.cos(pitch / 2)])
    x1, y1, z1, w1 = q_yaw
    x2, y2, z2, w2 = q_pitch
    q = (w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2, w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
         w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2, w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2)
    from viewer.vr.interaction import HandInput

    events = inter.update(InputFrame(0.1, HEAD, right=HandInput(aim=Pose(hand.position, q)),
                                     select=True))
    assert events == ["select"]
    assert inter.pointed.point[1] == pytest.approx(-10.0, abs=0.3)   # the hall's south wall
    card = card_at(inter.pointed, B, [hall], change, "en")     # its marker, over the roof
    assert (card.title, card.text) == ("New hall", "Built in 2021")
    named = card_at(inter.pointed, A, [hall], change, "en")    # not in A: the region there
    assert named.text.startswith("New hall: about 2,000 m³ built between 2019 and 2023")

    def at(x, y, z):
        return Pointed(np.array([x, y - 30.0, z + 20.0]), np.array([0.0, 30.0, -20.0]) * 3,
                       np.array([x, y, z]))

    region = card_at(at(-22.0, 3.0, 7.5), B, [hall], change, "de")
    assert region.title == "Entfernt"
    assert region.text.startswith("Etwa 6.000 m³ abgetragen zwischen 2019 und 2023")
    assert card_at(at(0.0, 40.0, 0.0), B, [hall], change, "en") is None
