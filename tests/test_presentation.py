"""Both ways a 3D view reaches the screen — Qt's OpenGL composition of a QOpenGLWidget, and the
raster path for software OpenGL (VTK offscreen, frame painted by Qt) — show the same picture,
turn the camera alike under a real mouse drag, and share a loaded texture between views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from viewer_fixtures import ensure_display

_no_display = ensure_display()  # before any QApplication exists
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(_no_display is not None, reason=_no_display or "")]

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QHBoxLayout, QWidget  # noqa: E402

from viewer.model.scene import Layer, SceneDescription, read_glb  # noqa: E402
from viewer.model.state import Camera, ViewerModel  # noqa: E402
from viewer.render.actors import BACKGROUND  # noqa: E402
from viewer.render.raster_view import RasterInteractor  # noqa: E402
from viewer.render.vtk_view import SceneView  # noqa: E402

TOP_DOWN = Camera((0.0, 0.0, 40.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 30.0)
RED, BLUE, GREEN = (220, 30, 30), (30, 40, 220), (30, 200, 40)
SKY_BOTTOM, SKY_TOP = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in BACKGROUND)


def _quad_glb(path: Path) -> Path:
    """A 20 m square facing up, its texture green in the top quarter, below it red on the left
    and blue on the right."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :32], image[:, 32:], image[:16] = RED, BLUE, GREEN
    vertices = np.array([[-10, -10, 0], [10, -10, 0], [10, 10, 0], [-10, 10, 0]], float)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(image))
    mesh = trimesh.Trimesh(vertices, [[0, 1, 2], [0, 2, 3]], process=False,
                           visual=trimesh.visual.TextureVisuals(uv=uv, material=material))
    mesh.export(path)
    return path


def _screen(widget: QWidget) -> np.ndarray:
    """What the widget shows, as Qt itself paints it (RGB)."""
    image = widget.grab().toImage()
    image = image.convertToFormat(image.Format.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, :w * 3] \
        .reshape(h, w, 3)


def _close(a: np.ndarray, b: tuple[int, int, int], tol: int = 60) -> bool:
    return bool(np.abs(a.astype(int) - b).max() <= tol)


@pytest.mark.parametrize("present", ["gl", "raster"])
def test_views_show_the_scene_and_turn_alike(qtbot, tmp_path, monkeypatch, present) -> None:
    monkeypatch.setenv("STADTZEIT_PRESENT", present)
    mesh = read_glb(_quad_glb(tmp_path / "quad.glb"))
    assert mesh.native_texture is not None  # the loader's image, no copy made on the UI thread
    model = ViewerModel()
    window = QWidget()
    layout = QHBoxLayout(window)
    views = [SceneView(model, role, window) for role in ("primary", "secondary")]
    for view in views:
        layout.addWidget(view)
        assert isinstance(view.plotter, RasterInteractor) == (present == "raster")
    qtbot.addWidget(window)
    window.resize(900, 450)
    window.show()
    qtbot.waitExposed(window)
    for view in views:
        view.set_scene(SceneDescription([Layer("e/lod0", "e", mesh)]))
        view.apply_camera(TOP_DOWN)
    qtbot.waitUntil(lambda: all(v.plotter.fresh and v.renders > 0 for v in views), timeout=10000)
    qtbot.wait(50)

    # each view's own texture object, over the one image the loader read
    textures = [v._textures[id(mesh)] for v in views]
    assert textures[0] is not textures[1]
    assert all(t.GetInput() is mesh.native_texture for t in textures)

    for view in views:
        shown = _screen(view.plotter)
        h, w = shown.shape[:2]
        left, right = shown[h // 2, int(w * 0.42)], shown[h // 2, int(w * 0.58)]
        assert _close(left, RED) and _close(right, BLUE), (present, left, right)
        assert _close(shown[int(h * 0.1), w // 2], GREEN)  # north up: rows not flipped
        # the dusk sky behind it: lighter at the top (Qt paints it on the raster path)
        assert _close(shown[2, 2], SKY_TOP, 12) and _close(shown[h - 3, 2], SKY_BOTTOM, 12)
        # the screen shows what VTK drew (stretched only while moving)
        drawn = view.image()
        assert _close(drawn[2, 2], SKY_TOP, 12) and _close(drawn[-3, 2], SKY_BOTTOM, 12)
        assert drawn.shape[:2] == (round(h * view.plotter.devicePixelRatioF()),
                                   round(w * view.plotter.devicePixelRatioF()))
        assert _close(drawn[drawn.shape[0] // 2, int(drawn.shape[1] * 0.42)], RED)
        # where the quad's corner is on screen agrees with the projection
        x, y, front = view.world_to_widget((10.0, 10.0, 0.0))
        assert front and x > w / 2 and y < h / 2

    # a real mouse drag turns the camera (the interactor gets Qt's events)
    view = views[0]
    cam = view.renderer.GetActiveCamera()
    before = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    centre = view.plotter.rect().center()
    QTest.mousePress(view.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     centre)
    for k in range(1, 11):
        QTest.mouseMove(view.plotter, centre + QPoint(12 * k, 0))
        qtbot.wait(5)
    QTest.mouseRelease(view.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       centre + QPoint(120, 0))
    qtbot.waitUntil(lambda: model.camera is not None)  # the drag's end reached the model
    after = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    cos = np.dot(before, after) / (np.linalg.norm(before) * np.linalg.norm(after))
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))) > 5.0
    for view in views:
        view.plotter.close()


def test_a_view_lets_go_of_the_textures_of_meshes_it_no_longer_shows(qtbot, tmp_path) -> None:
    from viewer.render.vtk_view import PARKED_ACTORS

    glb = _quad_glb(tmp_path / "quad.glb")
    view = SceneView(ViewerModel())
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    meshes = []
    for k in range(PARKED_ACTORS + 4):  # a kiosk day: meshes come, the cache lets them go
        mesh = read_glb(glb)
        meshes.append(mesh)
        view.set_scene(SceneDescription([Layer(f"e{k}/lod0", f"e{k}", mesh)]))
        view.image()  # drawn (on software GL in the frame thread)
    kept = {id(m) for m in meshes[-1 - PARKED_ACTORS:]}  # shown, and the parked ones
    assert set(view._textures) == kept
    view.clear()
    assert not view._textures
    view.plotter.close()
