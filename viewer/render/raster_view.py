"""A 3D view for software OpenGL: VTK renders offscreen, Qt shows the frame as an image.

A QOpenGLWidget makes Qt compose its whole top-level window through OpenGL on every frame; on
llvmpipe that composition alone costs 18-25 ms at 1892x960-1920x1080, more than VTK's own
render of the moving frame. Here VTK draws into its own offscreen render window, the frame is
read back (0.15 Mpixel while the camera moves) and painted by Qt's raster engine, which flushes
only what changed: ~5 ms for a full-screen frame with translucent panels over it. With a GPU
the GL path (`vtk_view._Interactor`) is the better one; `vtk_view.software_gl` chooses.
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

_BUTTONS = {Qt.MouseButton.LeftButton: "Left", Qt.MouseButton.RightButton: "Right",
            Qt.MouseButton.MiddleButton: "Middle"}  # VTK's <name>ButtonPress/ReleaseEvent


class RasterInteractor(QWidget):
    """A QWidget showing an offscreen pyvista Plotter's frames, with VTK's mouse interaction.

    Plotter attributes (renderer, ren_win, iren, add_mesh, screenshot, ...) are reached through
    this widget as on pyvistaqt's QtInteractor, so `SceneView` drives either the same way.
    """

    frameSwapped = Signal()  # noqa: N815 - QOpenGLWidget's name: a frame was painted for the screen

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
        self._pixels = vtkUnsignedCharArray()
        self._frame: np.ndarray | None = None
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
        """Draw VTK's frame now (the image follows through `_read_frame`)."""
        if args:  # QWidget.render(target, ...): Qt's own grab of the widget
            QWidget.render(self, *args)
            return
        if not self._closed:
            self._plotter.render()

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
        ren_win = self._plotter.ren_win
        w, h = ren_win.GetSize()
        ren_win.GetRGBACharPixelData(0, 0, w - 1, h - 1, 0, self._pixels)
        self._frame = vtk_to_numpy(self._pixels).reshape(h, w, 4)
        self.fresh = True
        self.update()

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
    def _event_info(self, event: Any, repeat: int = 0) -> None:
        ratio = self.devicePixelRatioF()
        pos = event.position()
        mods = event.modifiers()
        self._iren.SetEventInformation(
            round(pos.x() * ratio), round((self.height() - pos.y() - 1) * ratio),
            int(bool(mods & Qt.KeyboardModifier.ControlModifier)),
            int(bool(mods & Qt.KeyboardModifier.ShiftModifier)), "\0", repeat, None)

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._event_info(event, int(event.type() == QEvent.Type.MouseButtonDblClick))
        self._button = event.button()
        if self._button in _BUTTONS:
            getattr(self._iren, f"{_BUTTONS[self._button]}ButtonPressEvent")()

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._event_info(event)
        if self._button in _BUTTONS:
            getattr(self._iren, f"{_BUTTONS[self._button]}ButtonReleaseEvent")()
        self._button = Qt.MouseButton.NoButton

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._event_info(event)
        self._iren.MouseMoveEvent()

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._wheel += event.angleDelta().y()
        if self._wheel >= 120:
            self._iren.MouseWheelForwardEvent()
            self._wheel = 0
        elif self._wheel <= -120:
            self._iren.MouseWheelBackwardEvent()
            self._wheel = 0

    # ------------------------------------------------------------------ teardown
    def close(self) -> bool:
        result = super().close()
        if not self._closed:
            self._closed = True
            self._plotter.close()
        return result
