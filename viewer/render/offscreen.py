"""Offscreen renders of a `SceneDescription` for exports: no window, no Qt.

The same layers the desktop view draws (scene.compose), through VTK's offscreen render window,
at any size up to 8K: anti-aliased by supersampling (render larger, average down) or FXAA,
optionally on a transparent background. Sizes beyond what one framebuffer holds are rendered
in tiles (vtkRenderLargeImage) and put together by VTK.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from viewer.model.scene import Layer, SceneDescription
from viewer.model.state import Camera
from viewer.render.actors import BACKGROUND, actor_key, add_layer, keep_textures

MAX_SIDE = 7680                       # 8K UHD: the largest still we promise
MAX_PIXELS = 7680 * 4320
MAX_WINDOW = 8192                     # one framebuffer; larger renders go in tiles


class RenderSizeError(ValueError):
    """A requested image size the renderer refuses (callers turn it into a user error)."""


def check_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) when it is a size we render, else RenderSizeError saying the limits."""
    if width < 16 or height < 16:
        raise RenderSizeError(f"{width}×{height} pixels is too small: width and height must "
                              "be at least 16")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise RenderSizeError(f"{width}×{height} pixels is larger than 8K: at most "
                              f"{MAX_SIDE} pixels a side and {MAX_SIDE}×4320 pixels in all")
    return int(width), int(height)


def use_headless_gl() -> None:
    """Without a display, render through EGL (Mesa's llvmpipe when there is no GPU) instead
    of failing on X; an explicit VTK_DEFAULT_OPENGL_WINDOW wins."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


class OffscreenRenderer:
    """Renders scenes to numpy images. One VTK render window, reused for every frame.

    `antialias`: "ssaa" (2×2 supersampling, resolved with a box filter) or None. (VTK's FXAA
    is not supported by its EGL/OSMesa builds, which is what renders on a server.)
    `transparent`: RGBA with alpha 0 where no model is drawn.
    """

    def __init__(self, size: tuple[int, int], antialias: str | None = "ssaa",
                 transparent: bool = False, background: tuple[str, str] = BACKGROUND):
        use_headless_gl()
        import pyvista as pv
        import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers VTK's OpenGL classes

        self.size = check_size(*size)
        if antialias not in (None, "ssaa"):
            raise ValueError(f"antialias must be 'ssaa' or None, not {antialias!r}")
        self.antialias = antialias
        self.transparent = transparent
        self._factor = 2 if antialias == "ssaa" else 1
        if transparent and max(self.size) * self._factor > MAX_WINDOW:
            self._factor = 1  # tiles carry no alpha: render transparent images in one piece
        w, h = self.size[0] * self._factor, self.size[1] * self._factor
        self._tiles = max(1, math.ceil(max(w, h) / MAX_WINDOW))
        self._window = (math.ceil(w / self._tiles), math.ceil(h / self._tiles))
        self.plotter = pv.Plotter(off_screen=True, window_size=self._window)
        self.plotter.ren_win.SetMultiSamples(0)
        if transparent:
            self.plotter.ren_win.SetAlphaBitPlanes(1)
            self.plotter.set_background("black")
            self.plotter.renderer.SetBackgroundAlpha(0.0)
        else:
            self.plotter.set_background(background[0], top=background[1])
        self._actors: dict[str, Any] = {}
        self._textures: dict[int, Any] = {}
        self._signature: tuple = ()

    # ------------------------------------------------------------------ scene
    def set_scene(self, scene: SceneDescription) -> None:
        """Draw these layers (actors are kept by layer key, so a sequence of frames over the
        same meshes uploads each mesh once)."""
        wanted = {actor_key(layer): layer for layer in scene.layers}
        for key in [k for k in self._actors if k not in wanted]:
            self.plotter.remove_actor(self._actors.pop(key), render=False)
        for key, layer in wanted.items():
            actor = self._actors.get(key) or self._add(key, layer)
            actor.GetProperty().SetOpacity(layer.opacity)
            actor.SetVisibility(layer.opacity > 0.004)
        keep_textures(self._textures, [layer.mesh for layer in wanted.values()])

    def _add(self, key: str, layer: Layer) -> Any:
        actor = self._actors[key] = add_layer(self.plotter, key, layer, self._textures)
        return actor

    # ------------------------------------------------------------------ frames
    def render(self, camera: Camera, parallel_scale: float | None = None) -> np.ndarray:
        """One frame from `camera`: (H, W, 3) uint8, or (H, W, 4) when transparent.

        `parallel_scale` (metres, half the view's height) renders an orthographic view, where
        one pixel is 2·parallel_scale/H metres everywhere (maps with a true scale bar)."""
        cam = self.plotter.renderer.GetActiveCamera()
        cam.SetParallelProjection(parallel_scale is not None)
        if parallel_scale is not None:
            cam.SetParallelScale(parallel_scale)
        cam.SetPosition(*camera.position)
        cam.SetFocalPoint(*camera.focal_point)
        cam.SetViewUp(*camera.view_up)
        cam.SetViewAngle(camera.view_angle)
        self.plotter.renderer.ResetCameraClippingRange()
        img = self._grab()
        w, h = self.size[0] * self._factor, self.size[1] * self._factor
        if img.shape[0] != h or img.shape[1] != w:  # tiles round up: keep the centre
            y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
            img = img[y0:y0 + h, x0:x0 + w]
        if self._factor > 1:
            img = downsample(img, self._factor)
        return np.ascontiguousarray(img)

    def _grab(self) -> np.ndarray:
        """Render and read the frame back (VTK directly: pyvista's screenshot skips renders
        of a plotter that was never shown)."""
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from vtkmodules.vtkFiltersHybrid import vtkRenderLargeImage
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

        ren_win = self.plotter.ren_win
        ren_win.Render()
        if self._tiles > 1:
            grab = vtkRenderLargeImage()
            grab.SetInput(self.plotter.renderer)
            grab.SetMagnification(self._tiles)
        else:
            grab = vtkWindowToImageFilter()
            grab.SetInput(ren_win)
            grab.ReadFrontBufferOff()
            if self.transparent:
                grab.SetInputBufferTypeToRGBA()
        grab.Update()
        data = grab.GetOutput()
        w, h, _ = data.GetDimensions()
        arr = vtk_to_numpy(data.GetPointData().GetScalars())
        return arr.reshape(h, w, -1)[::-1]          # VTK's rows run upwards

    def close(self) -> None:
        self.plotter.close()
        self._actors.clear()
        self._textures.clear()

    def __enter__(self) -> OffscreenRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def downsample(img: np.ndarray, k: int) -> np.ndarray:
    """Average k×k blocks (a box filter: supersampling's resolve). Colour is averaged
    weighted by alpha, so transparent edges do not darken."""
    h, w = img.shape[0] // k, img.shape[1] // k
    blocks = img[:h * k, :w * k].reshape(h, k, w, k, img.shape[2]).astype(np.float32)
    if img.shape[2] == 4:
        alpha = blocks[..., 3:4]
        a_sum = alpha.sum(axis=(1, 3))
        rgb = (blocks[..., :3] * alpha).sum(axis=(1, 3)) / np.maximum(a_sum, 1e-6)
        out = np.concatenate([rgb, a_sum / (k * k)], axis=-1)
    else:
        out = blocks.mean(axis=(1, 3))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
