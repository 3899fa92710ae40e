"""viewer.render.labels on real VTK renders: labels of hidden anchors are hidden (depth buffer
and ray cast agree with geometry), labels never overlap, anchors behind the eye are dropped."""

from __future__ import annotations

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from viewer.render.labels import (  # noqa: E402
    BEHIND,
    OCCLUDED,
    OFF_SCREEN,
    OVERLAP,
    SHOWN,
    DepthProbe,
    LabelItem,
    RayOcclusion,
    place_labels,
)

SIZE = (480, 360)


def scene(center, half, eye, focal):
    """An off-screen window with one box (a building) and the camera at `eye`."""
    p = pv.Plotter(off_screen=True, window_size=SIZE)
    p.ren_win.SetMultiSamples(0)
    p.add_mesh(pv.Box(bounds=(center[0] - half[0], center[0] + half[0],
                              center[1] - half[1], center[1] + half[1],
                              center[2] - half[2], center[2] + half[2])))
    cam = p.renderer.GetActiveCamera()
    cam.SetPosition(*eye)
    cam.SetFocalPoint(*focal)
    cam.SetViewUp(0, 0, 1)
    p.renderer.ResetCameraClippingRange()
    return p


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_occlusion_matches_geometry(seed):
    """Anchors on the far side of a box (seen from the eye) are hidden; on its near face and
    beside it they are shown; the depth probe and the ray cast give the same answer."""
    rng = np.random.default_rng(seed)
    center = rng.uniform(-20, 20, 3) * (1, 1, 0) + (0, 0, 10)
    half = rng.uniform(4, 10, 3)
    azimuth = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
    eye = center + direction * (max(half) * 6) + (0, 0, 3)
    p = scene(center, half, eye, center)
    # a point on the near and one on the far side, along the axis of the box that faces the eye
    axis = int(np.argmax(np.abs(direction[:2])))
    sign = np.sign(direction[axis])
    near, far = center.copy(), center.copy()
    near[axis] += sign * half[axis]
    far[axis] -= sign * half[axis]
    right = np.cross(direction, (0, 0, 1))
    beside = center + right * (max(half[:2]) * 1.6)
    items = [LabelItem("near", tuple(near), (60, 18)), LabelItem("far", tuple(far), (60, 18)),
             LabelItem("beside", tuple(beside), (60, 18)),
             LabelItem("behind-eye", tuple(eye + direction * 5), (60, 18))]
    probe = DepthProbe(p.renderer)
    probe.watch([i.anchor for i in items])
    p.ren_win.Render()
    assert probe.frames == 1
    by_probe = {x.key: x.reason for x in place_labels(p.renderer, items, SIZE, occlusion=probe)}
    by_ray = {x.key: x.reason for x in place_labels(p.renderer, items, SIZE,
                                                    occlusion=RayOcclusion())}
    p.close()
    assert by_probe == by_ray
    assert by_probe["far"] == OCCLUDED
    assert by_probe["near"] == SHOWN
    assert by_probe["beside"] == SHOWN
    assert by_probe["behind-eye"] == BEHIND


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_never_overlap_and_priority_wins(seed):
    rng = np.random.default_rng(seed)
    p = scene((0, 0, -50), (1, 1, 1), (0, -100, 0), (0, 0, 0))  # nothing in front of anchors
    p.ren_win.Render()
    # a cluster of anchors a few pixels apart, one with a high priority, one off-screen
    pts = rng.normal(0, 1.5, (12, 3)) * (1, 0, 1)
    items = [LabelItem(f"a{i}", tuple(pt), (90, 20), priority=10 if i == 5 else 0)
             for i, pt in enumerate(pts)]
    items.append(LabelItem("off", (500.0, 0.0, 0.0), (90, 20)))
    placed = place_labels(p.renderer, items, SIZE, occlusion=RayOcclusion())
    p.close()
    by_key = {x.key: x for x in placed}
    assert [x.key for x in placed] == [i.key for i in items]
    assert by_key["a5"].visible
    assert by_key["off"].reason == OFF_SCREEN
    shown = [x.rect for x in placed if x.visible]
    assert 1 < len(shown) < len(pts)  # some fit around the cluster, the rest are dropped
    assert {x.reason for x in placed if not x.visible} == {OVERLAP, OFF_SCREEN}
    for i, a in enumerate(shown):
        assert 0 <= a[0] and a[0] + a[2] <= SIZE[0] and 0 <= a[1] and a[1] + a[3] <= SIZE[1]
        for b in shown[i + 1:]:
            apart = (a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or
                     a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1])
            assert apart, (a, b)


def test_reserved_areas_stay_clear():
    p = scene((0, 0, -50), (1, 1, 1), (0, -100, 0), (0, 0, 0))
    p.ren_win.Render()
    item = LabelItem("x", (0.0, 0.0, 0.0), (80, 20))
    free = place_labels(p.renderer, [item], SIZE)[0]
    moved = place_labels(p.renderer, [item], SIZE, reserved=[free.rect])[0]
    p.close()
    assert free.visible and moved.visible and moved.rect != free.rect
