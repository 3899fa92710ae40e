"""The desktop renderer: VTK through pyvista/pyvistaqt, drawing `scene.SceneDescription`s.

A `SceneView` knows nothing about archives or epochs: it draws the layers it is given, keeps its
VTK camera in step with the model's, and reports clicks, picks and gestures. Renders are
coalesced (one per event-loop turn) and MSAA is off: on llvmpipe it costs 3-4x per frame.
On software GL frames are drawn on a thread of their own (`raster_view`, `frame_worker`): what
changes the VTK scene then waits for the frame being drawn (`when_idle`), the newest wish of
each kind only.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any

import numpy as np
import pyvista as pv
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers VTK's OpenGL classes
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QEventPoint, QMouseEvent, QOffscreenSurface, QOpenGLContext, QTouchEvent
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QGestureEvent, QVBoxLayout, QWidget
from pyvistaqt import QtInteractor, rwi
from vtkmodules.vtkCommonDataModel import vtkPlane
from vtkmodules.vtkRenderingCore import vtkCellPicker, vtkRenderer

from viewer.model.scene import Layer, MeshData, SceneDescription
from viewer.model.state import Camera, ViewerModel, apply_pan, apply_pinch, touch_camera
from viewer.render.actors import BACKGROUND, actor_key, add_layer, keep_textures
from viewer.render.raster_view import RasterInteractor

log = logging.getLogger(__name__)
PARKED_ACTORS = 4                       # hidden actors kept for a quick swap back
MOVING_PIXELS = 150_000                 # pixels rendered while the camera moves (llvmpipe's
                                        # fill is most of a frame; 1280x720 is 921,600)
CLICK_SLOP = 5                          # pixels a press may move and still count as a click
SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "swiftshader", "software rasterizer")
_software_gl: bool | None = None


def software_gl() -> bool:
    """Whether Qt's OpenGL is a CPU rasterizer (Mesa's llvmpipe, ...): then the 3D views are
    shown through Qt's raster engine (`RasterInteractor`), which spares every frame a
    composition of the whole window through OpenGL. STADTZEIT_PRESENT=gl|raster overrides."""
    global _software_gl
    forced = os.environ.get("STADTZEIT_PRESENT", "").lower()
    if forced in ("gl", "raster"):
        return forced == "raster"
    if _software_gl is None:
        surface, context = QOffscreenSurface(), QOpenGLContext()
        surface.create()
        renderer = ""
        if context.create() and context.makeCurrent(surface):
            renderer = str(context.functions().glGetString(0x1F01) or "")  # GL_RENDERER
            context.doneCurrent()
        _software_gl = not renderer or any(s in renderer.lower() for s in SOFTWARE_GL)
        log.info("OpenGL renderer %r: %s presentation", renderer,
                 "raster" if _software_gl else "OpenGL")
    return _software_gl


class _Interactor(QtInteractor):
    """pyvistaqt's widget renders VTK again in every paintGL, even when the frame it shows is
    current; with GL views inside, every repaint of any widget nearby asks for one, and on
    llvmpipe each costs 30-150 ms. Here paintGL only blits while VTK's last frame is current;
    everything that changes the scene goes through SceneView.request_render, which marks it
    stale, and VTK's own renders (interaction) mark it current again."""

    fresh = False
    render_scale = 1.0
    busy = False      # frames are drawn on the UI thread: never busy between two of its calls
    drawn = Signal()  # VTK drew a frame

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.ren_win.AddObserver("EndEvent", lambda *_: self.drawn.emit())

    def when_idle(self, call: Any) -> None:
        call()

    def finish(self) -> None:
        """Frames are drawn as they are asked for: nothing to wait for."""

    def screen_ratio(self) -> float:
        """Device pixels per widget pixel (HiDPI), without the render scale."""
        return QOpenGLWidget.devicePixelRatioF(self)

    def devicePixelRatioF(self) -> float:  # noqa: N802 - Qt API
        """VTK's pixels per widget pixel: pyvistaqt sizes the render window and scales event
        positions by this, so a smaller render while moving stays consistent for VTK's
        interactor, picking and label placement alike."""
        return self.screen_ratio() * self.render_scale

    def _blit(self, target_id: int, rect: QRect) -> None:
        """pyvistaqt's blit, stretched over the whole widget whatever size VTK rendered at,
        and without its clear of the alpha channel: SceneView's frames are opaque already
        (background alpha 1), and that masked clear costs llvmpipe ~4 ms a frame."""
        rw, f = self._RenderWindow, self._gl
        if rw is None or f is None:
            return
        dpr = QOpenGLWidget.devicePixelRatioF(self)
        f.glBindFramebuffer(rwi.GL_DRAW_FRAMEBUFFER, target_id)
        f.draw_buffer_attachment0()
        scissor = bool(f.glIsEnabled(rwi.GL_SCISSOR_TEST))
        if scissor:  # the scissor would cut the blit
            rw.GetState().vtkglDisable(rwi.GL_SCISSOR_TEST)
            f.glDisable(rwi.GL_SCISSOR_TEST)
        w, h = rw.GetSize()
        rw.BlitDisplayFramebuffer(0, 0, 0, w, h, 0, 0, max(1, round(self.width() * dpr)),
                                  max(1, round(self.height() * dpr)),
                                  rwi.GL_COLOR_BUFFER_BIT, rwi.GL_LINEAR)
        if scissor:
            rw.GetState().vtkglEnable(rwi.GL_SCISSOR_TEST)
            f.glEnable(rwi.GL_SCISSOR_TEST)

    def set_background(self, color: Any, top: Any = None, **kw: Any) -> None:
        super().set_background(color, top=top, **kw)
        self.renderer.SetBackgroundAlpha(1.0)  # opaque frames: the blit needs no alpha clear

    def frame(self) -> np.ndarray:
        """The last frame as (H, W, 3) uint8."""
        return np.asarray(self.screenshot(None, return_img=True))

    def set_render_scale(self, scale: float) -> None:
        """Render at `scale` of the widget's resolution from now on (the window blits it
        stretched); VTK's last event positions are rescaled so a drag goes on smoothly."""
        if scale == self.render_scale or self._RenderWindow is None:  # None: closed
            return
        iren, f = self._Iren, scale / self.render_scale
        last, now = iren.GetLastEventPosition(), iren.GetEventPosition()
        self.render_scale = scale
        self.resizeGL(self.width(), self.height())
        iren.SetLastEventPosition(round(last[0] * f), round(last[1] * f))
        iren.SetEventPosition(round(now[0] * f), round(now[1] * f))

    def paintGL(self) -> None:  # noqa: N802 - Qt API
        if self.fresh:
            self._in_paint = True  # the base class skips its render while "in paint"
            try:
                super().paintGL()
            finally:
                self._in_paint = False
        else:
            super().paintGL()

    def resizeGL(self, w: int, h: int) -> None:  # noqa: N802 - Qt API
        self.fresh = False
        super().resizeGL(w, h)


class SceneView(QWidget):
    """One 3D view (a pyvistaqt QtInteractor) observing the model's camera."""

    clicked = Signal(QPoint)          # a left click without a drag, widget coordinates
    rendered = Signal()               # after each frame: overlays follow the 3D scene
    key = Signal(object)              # key press/release events (VTK never sees keys)
    interaction = Signal()            # the user moves the camera (drag, wheel, touch)

    def __init__(self, model: ViewerModel, role: str = "primary", parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.role = role
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        interactor = RasterInteractor if software_gl() else _Interactor
        self.plotter = interactor(self, multi_samples=0, auto_update=False,
                                  point_smoothing=False, line_smoothing=False)
        layout.addWidget(self.plotter)
        self.plotter.set_background(BACKGROUND[0], top=BACKGROUND[1])
        self.plotter.enable_trackball_style()
        self.renderer = self.plotter.renderer
        self.renderer.SetUseDepthPeeling(False)
        # markers (measurements, hotspots) on a second layer: never hidden behind the model
        self.overlay = vtkRenderer()
        self.overlay.SetLayer(1)
        self.overlay.InteractiveOff()
        self.overlay.SetActiveCamera(self.renderer.GetActiveCamera())
        self.plotter.ren_win.SetNumberOfLayers(2)
        self.plotter.ren_win.AddRenderer(self.overlay)
        self._overlay_actors: dict[str, Any] = {}
        self.layers: dict[str, Layer] = {}
        self._actors: dict[str, Any] = {}
        # actors recently taken out of the scene, hidden and kept (with their mesh) so that the
        # swap between the interaction proxy and the full LOD costs no new upload
        self._parked: dict[str, tuple[Any, MeshData]] = {}
        self._textures: dict[int, pv.Texture] = {}
        self._planes = {"left": vtkPlane(), "right": vtkPlane()}
        self._swipe: float | None = None
        self._signature: tuple = ((), None)
        self._deferred: dict[object, Any] = {}  # changes waiting for the frame being drawn
        self._pending_camera: Camera | None = None
        self._render_pending = False
        self.renders = 0  # frames drawn, for tests and benchmarks
        self._press: QPoint | None = None
        self._linked: SceneView | None = None
        self.renderer.AddObserver("StartEvent", self._before_render)
        self.plotter.drawn.connect(self._after_render)
        self.plotter.iren.interactor.AddObserver("EndInteractionEvent", self._interaction_end)
        for name in ("StartInteractionEvent", "InteractionEvent"):
            self.plotter.iren.interactor.AddObserver(name, lambda *_: self.interaction.emit())
        self.plotter.installEventFilter(self)
        self.plotter.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        for gesture in (Qt.GestureType.PinchGesture, Qt.GestureType.PanGesture):
            self.plotter.grabGesture(gesture)
        self._camera_observer: int | None = None
        self._gesture_start: Camera | None = None
        self._gesture_seen = False
        self._touch_start: tuple | None = None
        model.events.camera.connect(self._on_model_camera)

    # ------------------------------------------------------------------ drawing
    def when_idle(self, call: Any, kind: str | None = None) -> None:
        """Run `call`, which reads or changes the VTK scene, now or after the frame being
        drawn; of the waiting calls of one kind only the newest runs (a crossfade's or a drag's
        intermediate states are skipped)."""
        if not self.plotter.busy:
            call()
            return
        if not self._deferred:
            self.plotter.when_idle(self._run_deferred)
        key = kind if kind is not None else object()
        self._deferred.pop(key, None)
        self._deferred[key] = call

    def _run_deferred(self) -> None:
        calls, self._deferred = self._deferred, {}
        for call in calls.values():
            call()

    def set_scene(self, scene: SceneDescription) -> None:
        self.when_idle(lambda: self._set_scene(scene), "scene")

    def _set_scene(self, scene: SceneDescription) -> None:
        if self.closed:
            return
        wanted = {actor_key(layer): layer for layer in scene.layers}
        signature = (tuple((k, id(la.mesh), la.opacity, la.clip) for k, la in wanted.items()),
                     scene.swipe)
        if signature == self._signature:
            return  # nothing to draw differently: no frame (each costs ~50-150 ms on llvmpipe)
        self._signature = signature
        for key in [k for k in self._actors if k not in wanted]:
            actor = self._actors.pop(key)
            actor.SetVisibility(False)
            self._parked[key] = (actor, self.layers.pop(key).mesh)
        for key, layer in wanted.items():
            actor = self._actors.get(key)
            if actor is None and key in self._parked:
                parked, mesh = self._parked.pop(key)
                if mesh is layer.mesh:
                    actor = self._actors[key] = parked
                else:
                    self.plotter.remove_actor(parked, render=False)
            actor = actor or self._add_layer(key, layer)
            prop = actor.GetProperty()
            prop.SetOpacity(layer.opacity)
            actor.SetVisibility(layer.opacity > 0.004)
            mapper = actor.GetMapper()
            mapper.RemoveAllClippingPlanes()
            if layer.clip:
                mapper.AddClippingPlane(self._planes[layer.clip])
            self.layers[key] = layer
        while len(self._parked) > PARKED_ACTORS:
            actor, _ = self._parked.pop(next(iter(self._parked)))
            self.plotter.remove_actor(actor, render=False)
        keep_textures(self._textures, [la.mesh for la in self.layers.values()]
                      + [mesh for _, mesh in self._parked.values()])
        self._swipe = scene.swipe
        self.request_render()

    def _add_layer(self, key: str, layer: Layer) -> Any:
        actor = self._actors[key] = add_layer(self.plotter, key, layer, self._textures)
        return actor

    def clear(self) -> None:
        self.when_idle(self._clear, "clear")

    def _clear(self) -> None:
        self._deferred.pop("scene", None)  # an older scene must not come back after this
        self._set_scene(SceneDescription([]))
        for actor, _ in self._parked.values():
            self.plotter.remove_actor(actor, render=False)
        self._parked.clear()
        self._textures.clear()

    def set_overlay_actor(self, name: str, data: pv.PolyData | None, color: str = "white",
                          point_size: float = 10.0, line_width: float = 2.0,
                          spheres: bool = False) -> None:
        """Markers drawn over the model, replaced by name, removed with `data=None`."""
        self.when_idle(lambda: self._set_overlay_actor(
            name, data, color, point_size, line_width, spheres), f"overlay {name}")

    def _set_overlay_actor(self, name: str, data: pv.PolyData | None, color: str,
                           point_size: float, line_width: float, spheres: bool) -> None:
        old = self._overlay_actors.pop(name, None)
        if old is not None:
            self.overlay.RemoveActor(old)
        if data is not None and data.n_points:
            mapper = pv.DataSetMapper(data)
            mapper.scalar_visibility = False
            actor = pv.Actor(mapper=mapper)
            prop = actor.prop
            prop.color = color
            prop.render_points_as_spheres = spheres
            prop.lighting = False
            actor.SetPickable(False)
            scale = self.plotter.render_scale  # sizes are in rendered pixels
            prop.point_size, prop.line_width = point_size * scale, line_width * scale
            actor._base_sizes = (point_size, line_width)
            self.overlay.AddActor(actor)
            self._overlay_actors[name] = actor
        self.request_render()

    def set_moving(self, moving: bool) -> None:
        """While the camera moves, render MOVING_PIXELS at most (stretched to the view)."""
        self.when_idle(lambda: self._set_moving(moving), "moving")

    def _set_moving(self, moving: bool) -> None:
        if self.closed:
            return
        dpr = self.plotter.screen_ratio()
        pixels = max(1.0, self.plotter.width() * self.plotter.height() * dpr * dpr)
        scale = min(1.0, math.sqrt(MOVING_PIXELS / pixels)) if moving else 1.0
        self.plotter.set_render_scale(scale)
        for actor in self._overlay_actors.values():  # markers keep their size on screen
            point_size, line_width = actor._base_sizes
            actor.prop.point_size, actor.prop.line_width = point_size * scale, line_width * scale
        self.request_render()

    def request_render(self) -> None:
        self.plotter.fresh = False
        if not self._render_pending:
            self._render_pending = True
            QTimer.singleShot(0, self, self.render_now)  # dropped if the view is deleted

    def render_now(self) -> None:
        self._render_pending = False
        if self.isVisible() and not self.closed:
            self.plotter.render()

    def image(self) -> np.ndarray:
        """The scene as it is now, as (H, W, 3) uint8 (waits for the frame)."""
        self.plotter.finish()  # changes that waited for a frame are made
        self.render_now()
        self.plotter.finish()
        return self.plotter.frame()

    # ------------------------------------------------------------------ swipe clipping
    def _before_render(self, *_: Any) -> None:
        # actors arrive after the camera is set: fit near/far to what is there now
        self.renderer.ResetCameraClippingRange()
        if self._swipe is None:
            return
        cam = self.renderer.GetActiveCamera()
        eye = np.array(cam.GetPosition())
        d = np.array(cam.GetFocalPoint()) - eye
        d /= np.linalg.norm(d)
        right = np.cross(d, cam.GetViewUp())
        right /= max(np.linalg.norm(right), 1e-12)
        up = np.cross(right, d)
        w, h = self.renderer.GetSize()
        tan_h = math.tan(math.radians(cam.GetViewAngle()) / 2) * (w / max(h, 1))
        ray = d + right * (2 * self._swipe - 1) * tan_h
        # plane through the eye and the divider's screen line; its normal points left
        normal = np.cross(up, ray)
        normal /= np.linalg.norm(normal)
        self._planes["left"].SetOrigin(*eye)
        self._planes["left"].SetNormal(*normal)
        self._planes["right"].SetOrigin(*eye)
        self._planes["right"].SetNormal(*(-normal))

    def _after_render(self, *_: Any) -> None:
        self.plotter.fresh = True
        self.renders += 1
        self.rendered.emit()

    # ------------------------------------------------------------------ camera
    def camera_state(self) -> Camera:
        if self._pending_camera is not None:  # set, waiting for the frame being drawn
            return self._pending_camera
        cam = self.renderer.GetActiveCamera()
        return Camera(tuple(cam.GetPosition()), tuple(cam.GetFocalPoint()),
                      tuple(cam.GetViewUp()), float(cam.GetViewAngle()))

    def apply_camera(self, camera: Camera) -> None:
        self._pending_camera = camera if self.plotter.busy else None
        self.when_idle(lambda: self._apply_camera(camera), "camera")

    def _apply_camera(self, camera: Camera) -> None:
        self._pending_camera = None
        cam = self.renderer.GetActiveCamera()
        cam.SetPosition(*camera.position)
        cam.SetFocalPoint(*camera.focal_point)
        cam.SetViewUp(*camera.view_up)
        cam.SetViewAngle(camera.view_angle)
        self.renderer.ResetCameraClippingRange()
        self.request_render()

    def _on_model_camera(self, source: object) -> None:
        if source is not self and self.model.camera is not None:
            self.apply_camera(self.model.camera)

    def _interaction_end(self, *_: Any) -> None:
        self.model.set_camera(self.camera_state(), source=self)

    def link_camera(self, other: SceneView) -> None:
        """Share `other`'s VTK camera: both views always show the same viewpoint."""
        self.plotter.finish()
        cam = other.renderer.GetActiveCamera()
        self.renderer.SetActiveCamera(cam)
        self.overlay.SetActiveCamera(cam)
        self._linked = other
        self._camera_observer = cam.AddObserver("ModifiedEvent", self._shared_camera_moved)
        other.plotter.iren.interactor.AddObserver(
            "InteractionEvent", lambda *_: self.request_render())
        self.plotter.iren.interactor.AddObserver(
            "InteractionEvent", lambda *_: other.request_render())

    def _shared_camera_moved(self, *_: Any) -> None:
        # on the frame thread the camera changes only its clipping range, drawing the other
        # view's frame: no new viewpoint, and no Qt call from there
        if threading.current_thread() is threading.main_thread():
            self.request_render()

    @property
    def closed(self) -> bool:
        return getattr(self.plotter, "_closed", False) or self.plotter.ren_win is None

    def world_to_widget(self, point: Any) -> tuple[float, float, bool]:
        """Widget coordinates of a site-frame point, and whether it is in front of the camera."""
        self.plotter.finish()
        ren = self.renderer
        ren.SetWorldPoint(float(point[0]), float(point[1]), float(point[2]), 1.0)
        ren.WorldToDisplay()
        x, y, z = ren.GetDisplayPoint()
        ratio = self.plotter.devicePixelRatioF()
        h = self.plotter.ren_win.GetSize()[1]
        return x / ratio, (h - y) / ratio, 0.0 < z < 1.0

    def pick(self, pos: QPoint) -> np.ndarray | None:
        """The surface point under a widget position (site frame, float64), or None."""
        self.plotter.finish()
        ratio = self.plotter.devicePixelRatioF()
        h = self.plotter.ren_win.GetSize()[1]
        picker = vtkCellPicker()
        picker.SetTolerance(0.0005)
        picker.PickFromListOn()
        for actor in self._actors.values():
            if actor.GetVisibility():
                picker.AddPickList(actor)
        if picker.Pick(pos.x() * ratio, h - pos.y() * ratio - 1, 0, self.renderer):
            return np.asarray(picker.GetPickPosition(), dtype=np.float64)
        return None

    # ------------------------------------------------------------------ input
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        t = event.type()
        if t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
                return False  # Qt moves the focus on: the keyboard can leave the 3D view
            self.key.emit(event)
            return True  # VTK's own key bindings (w: wireframe, q/e: exit, ...) stay off
        if t in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self._show_focus(t == QEvent.Type.FocusIn)
            return False
        if t == QEvent.Type.Wheel or (t == QEvent.Type.MouseMove and isinstance(
                event, QMouseEvent) and event.buttons() != Qt.MouseButton.NoButton):
            self.interaction.emit()  # before VTK moves the camera and draws
        elif t == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            if event.button() == Qt.MouseButton.LeftButton:
                self._press = event.position().toPoint()
        elif t == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
                pos = event.position().toPoint()
                if (pos - self._press).manhattanLength() <= CLICK_SLOP:
                    QTimer.singleShot(0, lambda p=pos: self.clicked.emit(p))
                self._press = None
        elif t == QEvent.Type.Gesture and isinstance(event, QGestureEvent):
            return self.gesture(event)
        elif t in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd):
            self.touch(event)
            event.accept()  # without this Qt sends no updates, and no gesture is recognised
            return True
        return False

    def _show_focus(self, on: bool) -> None:
        """A visible frame round the view while it has the keyboard focus."""
        self.layout().setContentsMargins(*(3,) * 4 if on else (0,) * 4)
        self.setStyleSheet("SceneView { background: palette(highlight); }" if on else "")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, on)

    def gesture(self, event: QGestureEvent) -> bool:
        """Qt's pinch and pan gestures, applied as totals to the camera at their start (so
        repeated or merged deliveries never compound)."""
        pinch = event.gesture(Qt.GestureType.PinchGesture)
        pan = event.gesture(Qt.GestureType.PanGesture)
        if pinch is None and pan is None:
            return False
        self._gesture_seen = True  # raw touch handling stands aside for this touch
        self.interaction.emit()
        active = [g for g in (pinch, pan) if g is not None]
        if any(g.state() == Qt.GestureState.GestureStarted for g in active) or \
                self._gesture_start is None:
            self._gesture_start = self.camera_state()
        cam = self._gesture_start
        if pinch is not None:
            cam = apply_pinch(cam, pinch.totalScaleFactor(), pinch.totalRotationAngle())
            event.accept(pinch)
        if pan is not None:
            offset = pan.offset()
            cam = apply_pan(cam, offset.x(), offset.y(), self.plotter.height())
            event.accept(pan)
        self.model.set_camera(cam)
        if all(g.state() in (Qt.GestureState.GestureFinished, Qt.GestureState.GestureCanceled)
               for g in active):
            self._gesture_start = None
        return True

    def touch(self, event: QTouchEvent) -> None:
        """Raw touch, for when Qt's gesture recognisers stay silent (they do for a central
        widget of a QMainWindow with dock widgets): the same motions, from the touch points."""
        if event.type() == QEvent.Type.TouchBegin:
            self._gesture_seen, self._touch_start = False, None
        if self._gesture_seen:
            return
        held = sorted((p for p in event.points()
                       if p.state() != QEventPoint.State.Released), key=lambda p: p.id())
        if event.type() == QEvent.Type.TouchEnd or not held:
            self._touch_start = None
            return
        ids = tuple(p.id() for p in held[:2])
        pos = [(p.position().x(), p.position().y()) for p in held[:2]]
        if self._touch_start is None or self._touch_start[0] != ids:
            self._touch_start = (ids, self.camera_state(), pos)  # a finger came or went
            return
        _, start, before = self._touch_start
        self.interaction.emit()
        self.model.set_camera(touch_camera(start, before, pos, self.plotter.height()))
