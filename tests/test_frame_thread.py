"""On software OpenGL the raster view draws its frames on a thread of their own: the UI thread
goes on handling events during a slow frame, what it changes meanwhile waits for the frame and
the newest wish wins, input that came meanwhile reaches VTK afterwards, and a view deleted while
its frame is drawn leaves the frame thread working."""

from __future__ import annotations

import time

import numpy as np
import pytest
import pyvista as pv
from viewer_fixtures import ensure_display

_no_display = ensure_display()  # before any QApplication exists
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

from PySide6.QtCore import QPoint, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from viewer.model.scene import Layer, MeshData, SceneDescription  # noqa: E402
from viewer.model.state import Camera, ViewerModel  # noqa: E402
from viewer.render.frame_worker import frame_worker  # noqa: E402
from viewer.render.raster_view import RasterInteractor  # noqa: E402
from viewer.render.vtk_view import SceneView  # noqa: E402

ABOVE = Camera((0.0, 0.0, 60.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 30.0)
ASIDE = Camera((60.0, 0.0, 10.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), 30.0)


def _sphere(resolution: int, radius: float = 10.0) -> MeshData:
    s = pv.Sphere(radius=radius, theta_resolution=resolution, phi_resolution=resolution)
    faces = s.faces.reshape(-1, 4)[:, 1:]
    return MeshData(np.asarray(s.points, np.float32), faces.astype(np.int64))


@pytest.fixture
def view(qtbot, monkeypatch):
    monkeypatch.setenv("STADTZEIT_PRESENT", "raster")
    v = SceneView(ViewerModel())
    assert isinstance(v.plotter, RasterInteractor)
    qtbot.addWidget(v)
    v.resize(1280, 720)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.plotter.close()


def test_the_ui_thread_handles_events_while_a_slow_frame_is_drawn(qtbot, view) -> None:
    heavy = SceneDescription([Layer(f"s{k}/lod0", f"s{k}", _sphere(700, 10.0 + k))
                              for k in range(2)])                    # ~2 x 980k triangles
    view.set_scene(heavy)
    view.apply_camera(ABOVE)
    view.image()  # uploaded once: the frame below is drawing alone
    ticks: list[bool] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(frame_worker().busy))
    timer.start(2)
    renders = view.renders
    view.apply_camera(ASIDE)
    qtbot.waitUntil(lambda: view.renders > renders, timeout=20000)
    timer.stop()
    # the timer ticked while the frame was being drawn: the event loop was not blocked
    assert sum(ticks) >= 3, ticks


def test_changes_during_a_frame_wait_for_it_and_the_newest_wins(qtbot, view) -> None:
    small, other = _sphere(40), _sphere(30)
    view.set_scene(SceneDescription([Layer("a/lod0", "a", _sphere(700))]))
    view.apply_camera(ABOVE)
    view.image()
    cam = view.renderer.GetActiveCamera()
    view.request_render()
    qtbot.waitUntil(lambda: frame_worker().busy, timeout=5000)
    # while it draws: nothing of VTK's scene changes, but the view answers with what it will show
    view.set_scene(SceneDescription([Layer("b/lod0", "b", small)]))
    view.set_scene(SceneDescription([Layer("c/lod0", "c", other)]))
    view.apply_camera(ASIDE)
    assert frame_worker().busy
    assert list(view.layers) == ["a/lod0"]
    assert cam.GetPosition() == pytest.approx(ABOVE.position)
    assert view.camera_state() == ASIDE
    view.plotter.finish()
    assert list(view.layers) == ["c/lod0"]       # the newest scene, the one between skipped
    assert cam.GetPosition() == pytest.approx(ASIDE.position)
    assert view.camera_state().position == pytest.approx(ASIDE.position)
    # and the picture shows it: the small sphere seen from the side fills less of the view
    img = view.image()
    assert img.shape[:2] == (720, 1280)


def test_a_drag_during_a_frame_turns_the_camera_as_far(qtbot, view) -> None:
    view.set_scene(SceneDescription([Layer("a/lod0", "a", _sphere(700))]))
    view.apply_camera(ASIDE)
    view.image()
    cam = view.renderer.GetActiveCamera()

    def drag() -> float:
        before = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
        centre = view.plotter.rect().center()
        QTest.mousePress(view.plotter, Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, centre)
        for k in range(1, 9):
            QTest.mouseMove(view.plotter, centre + QPoint(15 * k, 0))
            qtbot.wait(3)
        QTest.mouseRelease(view.plotter, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier, centre + QPoint(120, 0))
        view.plotter.finish()
        after = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
        cos = np.dot(before, after) / (np.linalg.norm(before) * np.linalg.norm(after))
        return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))

    quiet = drag()  # the first move starts a frame: the others come while it is drawn
    view.apply_camera(ASIDE)
    view.plotter.finish()
    view.request_render()
    qtbot.waitUntil(lambda: frame_worker().busy, timeout=5000)
    busy = drag()   # the whole drag while a frame is drawn
    assert quiet > 5.0 and busy == pytest.approx(quiet, rel=0.05), (quiet, busy)


def test_a_view_deleted_while_its_frame_is_drawn_leaves_the_thread_working(qtbot, view) -> None:
    doomed = SceneView(ViewerModel())
    doomed.resize(800, 600)
    doomed.show()
    qtbot.waitExposed(doomed)
    doomed.set_scene(SceneDescription([Layer("a/lod0", "a", _sphere(600))]))
    doomed.apply_camera(ABOVE)
    doomed.render_now()
    qtbot.waitUntil(lambda: frame_worker().busy, timeout=5000)
    doomed.deleteLater()
    t0 = time.perf_counter()
    qtbot.waitUntil(lambda: not frame_worker().busy, timeout=20000)
    # the other view still draws
    view.set_scene(SceneDescription([Layer("b/lod0", "b", _sphere(20))]))
    view.apply_camera(ABOVE)
    renders = view.renders
    view.request_render()
    qtbot.waitUntil(lambda: view.renders > renders, timeout=20000 - (time.perf_counter() - t0))
