"""A 3D view for software OpenGL: VTK renders offscreen, Qt shows the frame as an image.

A QOpenGLWidget makes Qt compose its whole top-level window through OpenGL on every frame; on
llvmpipe that composition alone costs 18-25 ms at 1892x960-1920x1080, more than VTK's own
render of the moving frame. Here VTK draws into its own offscreen render window, the frame is
read back (0.15 Mpixel while the camera moves) and painted by Qt's raster engine, which flushes
only what changed: ~5 ms for a full-screen frame with translucent panels over it. With a GPU
the GL path (`vtk_view._Interactor`) is the better one; `vtk_view.software_gl` chooses.

Frames are drawn on the frame thread (`frame_worker`): a still frame of a two-mesh scene costs
llvmpipe 250-400 ms, which the UI thread would otherwise spend waiting. Input for VTK that
arrives while a frame is drawn is kept and given to VTK right after it (mouse moves merged).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv
from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

from viewer.render.actors import BACKGROUND
from viewer.render.frame_worker import frame_worker

_BUTTONS = {Qt.MouseButton.LeftButton: "Left", Qt.MouseButton.RightButton: "Right",
            Qt.MouseButton.MiddleButton: "Middle"}  # VTK's <name>ButtonPress/ReleaseEvent


class RasterInteractor(QWidget):
    """A QWidget showing an offscreen pyvista Plotter's frames, with VTK's mouse interaction.

    Plotter attributes (renderer, ren_win, iren, add_mesh, screenshot, ...) are reached through
    this widget as on pyvistaqt's QtInteractor, so `SceneView` drives either the same way.
    """

    frameSwapped = Signal()  # noqa: N815 - QOpenGLWidget's name: a frame was painted for the screen
    drawn = Signal()         # VTK drew a frame (UI thread, the scene may be read again)

    fresh = False          # the image shown is VTK's current frame
    render_scale = 1.0     # VTK's pixels per device pixel (< 1 while the camera moves)

    def __init__(self, parent: QWidget | None = None, **_: Any):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # the frame covers it all
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.WheelFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._plotter = pv.Plotter(off_screen=True, lighting="light kit")
        self._plotter.ren_win.SetMultiSamples(0)
        self._plotter._first_time = False  # render() draws only once "shown"; this is its show
        self._iren = self._plotter.iren.interactor
        self._iren.Enable()  # a generic interactor ignores events until enabled
        # VTK's interactor styles render right after moving the camera: here that becomes a
        # request for a frame on the frame thread
        self._iren.EnableRenderOff()
        self._iren.AddObserver("RenderEvent", lambda *_: self.render())
        self._worker = frame_worker()
        self._pixels = [vtkUnsignedCharArray(), vtkUnsignedCharArray()]  # shown, being drawn
        self._frame: np.ndarray | None = None
        self._drawn_frame: np.ndarray | None = None   # read back on the frame thread
        self._input: list[tuple] = []                 # VTK input held while a frame is drawn
        self._button = Qt.MouseButton.NoButton
        self._wheel = 0
        self._closed = False
        self._render_queued = False
        self.set_background(BACKGROUND[0], top=BACKGROUND[1])
        self._plotter.ren_win.AddObserver("EndEvent", self._read_frame)

    def __getattr__(self, name: str) -> Any:
        # only reached for names the QWidget does not have: the plotter's API
        try:
            plotter = self.__dict__["_plotter"]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(plotter, name)

    # ------------------------------------------------------------------ size and scale
    def screen_ratio(self) -> float:
        """Device pixels per widget pixel (HiDPI), without the render scale."""
        return QWidget.devicePixelRatioF(self)

    def devicePixelRatioF(self) -> float:  # noqa: N802 - Qt API, as on the GL widget
        """VTK's pixels per widget pixel: event positions, picking and labels use this."""
        return self.screen_ratio() * self.render_scale

    def _resize_render_window(self) -> None:
        if self._worker.busy:  # the window's size is the frame thread's while it draws
            self.fresh = False
            self._worker.when_idle(self._resize_render_window)
            return
        if self._closed:
            return
        ratio = self.devicePixelRatioF()
        w, h = max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))
        self._iren.UpdateSize(w, h)  # sets the render window's size too
        self._plotter.ren_win.SetDPI(round(72 * ratio))
        self.fresh = False

    def set_render_scale(self, scale: float) -> None:
        """Render at `scale` of the widget's resolution from now on (painted stretched); VTK's
        last event positions are rescaled so a drag goes on smoothly."""
        if scale == self.render_scale or self._closed:
            return
        f = scale / self.render_scale
        last, now = self._iren.GetLastEventPosition(), self._iren.GetEventPosition()
        self.render_scale = scale
        self._resize_render_window()
        self._iren.SetLastEventPosition(round(last[0] * f), round(last[1] * f))
        self._iren.SetEventPosition(round(now[0] * f), round(now[1] * f))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._resize_render_window()
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(400, 400)

    # ------------------------------------------------------------------ frames
    def render(self, *args: Any) -> None:
        """Ask for a frame of VTK's scene, drawn on the frame thread and shown when done."""
        if args:  # QWidget.render(target, ...): Qt's own grab of the widget
            QWidget.render(self, *args)
            return
        if not self._closed:
            self._worker.request(self)

    @property
    def busy(self) -> bool:
        """A frame is being drawn: VTK's scene is the frame thread's until it is done."""
        return self._worker.busy

    def when_idle(self, call: Any) -> None:
        """Run `call` now, or right after the frame being drawn (see `frame_worker`)."""
        self._worker.when_idle(call)

    def finish(self) -> None:
        """Wait until the frames asked for are drawn and shown."""
        self._worker.finish()

    # the frame thread's side (`frame_worker.Drawable`)
    def can_draw(self) -> bool:
        return not self._closed and self.isVisible()

    def before_frame(self) -> None:
        self._plotter.ren_win.ReleaseCurrent()  # the context goes to the frame thread

    def draw(self) -> None:
        self._plotter.render()
        self._plotter.ren_win.ReleaseCurrent()

    def after_frame(self) -> None:
        if self._closed:
            return
        self._plotter.ren_win.MakeCurrent()  # releasing actors and textures needs it here
        if self._drawn_frame is not None:
            self._frame, self._drawn_frame = self._drawn_frame, None
            self._pixels.reverse()
            self.fresh = True
            self.update()
        self.drawn.emit()

    def set_background(self, color: Any, top: Any = None) -> None:
        """The sky behind the scene, painted by Qt: VTK's gradient background costs llvmpipe
        ~40 ms of CPU in a 1920x1080 frame, Qt's raster engine 1-2 ms. VTK draws the scene over
        a transparent background (premultiplied alpha, also for translucent layers)."""
        self._sky = (QColor(pv.Color(color).hex_rgb), QColor(pv.Color(top or color).hex_rgb))
        self._sky_pixmap = None
        renderer = self._plotter.renderer
        renderer.SetGradientBackground(False)
        renderer.SetBackground(0.0, 0.0, 0.0)
        renderer.SetBackgroundAlpha(0.0)
        self._plotter.ren_win.SetAlphaBitPlanes(1)
        self.fresh = False

    def _sky_for(self, size: QSize) -> QPixmap:
        if self._sky_pixmap is None or self._sky_pixmap.size() != size:
            self._sky_pixmap = QPixmap(size)
            gradient = QLinearGradient(0, 0, 0, size.height())
            gradient.setColorAt(0.0, self._sky[1])
            gradient.setColorAt(1.0, self._sky[0])
            painter = QPainter(self._sky_pixmap)
            painter.fillRect(self._sky_pixmap.rect(), gradient)
            painter.end()
        return self._sky_pixmap

    def frame(self) -> np.ndarray:
        """The last frame over the sky as (H, W, 3) uint8, at VTK's resolution."""
        if self._frame is None:
            self.render()
            self.finish()
        rgba = self._frame[::-1].astype(np.float32)
        h = rgba.shape[0]
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]  # 0 at the top
        top, bottom = (np.array(c.getRgb()[:3], np.float32) for c in self._sky[::-1])
        sky = top * (1 - t) + bottom * t
        out = rgba[..., :3] + sky * (1.0 - rgba[..., 3:] / 255.0)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _render_soon(self) -> None:
        # not in paintEvent itself: a render there would come on top of the one the scene's
        # change has queued already (SceneView.request_render), 100-300 ms each on llvmpipe
        if not self._render_queued:
            self._render_queued = True
            QTimer.singleShot(0, self, self._render_if_stale)

    def _render_if_stale(self) -> None:
        self._render_queued = False
        if not self.fresh and self.isVisible():
            self.render()

    def _read_frame(self, *_: Any) -> None:
        # on the frame thread: into the buffer that is not shown (the UI thread paints the other)
        ren_win, pixels = self._plotter.ren_win, self._pixels[1]
        w, h = ren_win.GetSize()
        ren_win.GetRGBACharPixelData(0, 0, w - 1, h - 1, 0, pixels)
        self._drawn_frame = vtk_to_numpy(pixels).reshape(h, w, 4)

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt API
        if not self.fresh:  # shown or resized: a frame follows, and the last one stands in
            self._render_soon()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._sky_for(self.size()))
        frame = self._frame
        if frame is not None:
            h, w = frame.shape[:2]
            image = QImage(frame.data, w, h, w * 4, QImage.Format.Format_RGBA8888_Premultiplied)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.translate(0, self.height())
            painter.scale(1, -1)  # VTK's rows run bottom-up
            painter.drawImage(QRect(0, 0, self.width(), self.height()), image)
        painter.end()
        self.frameSwapped.emit()

    # ------------------------------------------------------------------ input (to VTK)
    def _to_vtk(self, event: Any, call: str, repeat: int = 0) -> None:
        """Give VTK an input event now, or keep it until the frame being drawn is done (a
        mouse move then replaces a move kept just before it: VTK's styles turn the camera by
        the distance from the last position, so the sum is the same)."""
        ratio = self.devicePixelRatioF()
        pos = event.position()
        mods = event.modifiers()
        info = (round(pos.x() * ratio), round((self.height() - pos.y() - 1) * ratio),
                int(bool(mods & Qt.KeyboardModifier.ControlModifier)),
                int(bool(mods & Qt.KeyboardModifier.ShiftModifier)), "\0", repeat, None)
        if not self._worker.busy:
            self._iren.SetEventInformation(*info)
            getattr(self._iren, call)()
        elif call == "MouseMoveEvent" and self._input and self._input[-1][0] == call:
            self._input[-1] = (call, info)
        else:
            if not self._input:
                self._worker.when_idle(self._replay_input)
            self._input.append((call, info))

    def _replay_input(self) -> None:
        held, self._input = self._input, []
        for call, info in held:
            self._iren.SetEventInformation(*info)
            getattr(self._iren, call)()

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._button = event.button()
        if self._button in _BUTTONS:
            self._to_vtk(event, f"{_BUTTONS[self._button]}ButtonPressEvent",
                         int(event.type() == QEvent.Type.MouseButtonDblClick))

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        if self._button in _BUTTONS:
            self._to_vtk(event, f"{_BUTTONS[self._button]}ButtonReleaseEvent")
        self._button = Qt.MouseButton.NoButton

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._to_vtk(event, "MouseMoveEvent")

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._wheel += event.angleDelta().y()
        if abs(self._wheel) >= 120:
            self._to_vtk(event, "MouseWheelForwardEvent" if self._wheel > 0
                         else "MouseWheelBackwardEvent")
            self._wheel = 0

    # ------------------------------------------------------------------ teardown
    def close(self) -> bool:
        result = super().close()
        if not self._closed:
            self._worker.finish()  # not while the frame thread draws into the window
            self._closed = True
            self._plotter.close()
        return result
