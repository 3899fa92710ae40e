"""An OpenXR session for VR mode: instance, system, OpenGL binding, the session state machine,
a reference space, one swapchain per eye, frames timed by the runtime.

Session states (XrSessionState) and what we do in each:

    IDLE          wait (no frames) until the runtime says READY
    READY         xrBeginSession; from here frames run: xrWaitFrame paces them
    SYNCHRONIZED  frames run, nothing is shown yet
    VISIBLE       frames are shown; input belongs to someone else
    FOCUSED       frames are shown and the controllers are ours
    STOPPING      xrEndSession; no more frames
    EXITING       leave the loop (a clean exit: the user quit, or we asked to)
    LOSS_PENDING  the runtime or the headset went away: leave the loop and report it

Graphics: XR_MNDX_egl_enable (EGL, no X server needed) where the runtime offers it, otherwise
XR_KHR_opengl_enable on GLX. Colour swapchains use the runtime's preferred sRGB format; depth
goes into depth swapchains submitted with XR_KHR_composition_layer_depth where offered (the
compositor reprojects better with it), else into our own depth buffers.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import xr

from assets_manifest.errors import StadtzeitError
from viewer.vr.actions import PROFILE_EXTENSIONS
from viewer.vr.gl import GL

log = logging.getLogger(__name__)

SRGB_FORMATS = (GL.GL_SRGB8_ALPHA8, GL.GL_SRGB8)
LINEAR_FORMATS = (GL.GL_RGBA8, GL.GL_RGB10_A2, GL.GL_RGBA16F)
DEPTH_FORMATS = (GL.GL_DEPTH_COMPONENT24, GL.GL_DEPTH_COMPONENT32F, GL.GL_DEPTH24_STENCIL8,
                 GL.GL_DEPTH_COMPONENT16)
EGL_EXTENSION = "XR_MNDX_egl_enable"
GL_EXTENSION = "XR_KHR_opengl_enable"
DEPTH_EXTENSION = "XR_KHR_composition_layer_depth"
#: eye height assumed above the floor when only a LOCAL space (origin at the head) exists
LOCAL_EYE_HEIGHT = 1.6

RUNTIME_HELP = """\
VR mode needs an OpenXR runtime with a headset:
  - SteamVR (Steam on Linux or Windows), set as the OpenXR runtime in its settings;
  - Monado, open source: on Debian 13 or Ubuntu 24.04 `apt install monado-service
    libopenxr1-monado`, then start `monado-service` (with no headset, a simulated one:
    SIMULATED_ENABLE=1 XRT_COMPOSITOR_NULL=1 XRT_NO_STDIN=1 monado-service);
  - on Debian 12 Monado is not packaged: see docs/VR.md (a Debian 13 root, .ci/xr-root.sh).
The runtime is found through XR_RUNTIME_JSON or /etc/xdg/openxr/1/active_runtime.json."""


class XRUnavailable(StadtzeitError):
    """No OpenXR runtime (or no headset) answered; the message says how to get one."""

    exit_code = 2


class XRSessionLost(StadtzeitError):
    """The runtime ended the session unexpectedly (LOSS_PENDING: headset or runtime gone)."""


def unavailable(reason: str) -> XRUnavailable:
    return XRUnavailable(f"no OpenXR runtime answered ({reason}).\n{RUNTIME_HELP}")


@dataclass
class RuntimeInfo:
    runtime: str
    system: str
    extensions: list[str]


def available_extensions() -> list[str]:
    """The runtime's instance extensions; the first call that loads the runtime."""
    # the loader prints its own errors to stderr; ours says more (XR_LOADER_DEBUG=all shows
    # them again when debugging a runtime)
    os.environ.setdefault("XR_LOADER_DEBUG", "none")
    try:
        return [e.extension_name.decode() if isinstance(e.extension_name, bytes)
                else str(e.extension_name) for e in xr.enumerate_instance_extension_properties()]
    except xr.XrException as exc:
        raise unavailable(f"{type(exc).__name__}: {exc}") from exc


def probe() -> RuntimeInfo:
    """Ask the runtime for its name and its headset; `XRUnavailable` when there is none."""
    exts = available_extensions()
    try:
        instance = xr.create_instance(xr.InstanceCreateInfo(
            application_info=xr.ApplicationInfo("stadtzeit-probe", 1, "stadtzeit", 1)))
    except xr.XrException as exc:
        raise unavailable(f"{type(exc).__name__}: {exc}") from exc
    try:
        props = xr.get_instance_properties(instance)
        system = xr.get_system(instance, xr.SystemGetInfo(
            form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
        sp = xr.get_system_properties(instance, system)
        name = props.runtime_name.decode() if isinstance(props.runtime_name, bytes) \
            else str(props.runtime_name)
        sysname = sp.system_name.decode() if isinstance(sp.system_name, bytes) \
            else str(sp.system_name)
        return RuntimeInfo(f"{name} {xr.Version(props.runtime_version)}", sysname, exts)
    except xr.FormFactorUnavailableError as exc:
        raise unavailable("the runtime answers, but no headset is connected") from exc
    except xr.XrException as exc:
        raise unavailable(f"{type(exc).__name__}: {exc}") from exc
    finally:
        xr.destroy_instance(instance)


@dataclass
class _Eye:
    width: int
    height: int
    color: xr.Swapchain
    color_images: list[int]
    depth: xr.Swapchain | None = None
    depth_images: list[int] = field(default_factory=list)
    own_depth: int = 0                      # renderbuffer when there is no depth swapchain
    fbos: dict[tuple[int, int], int] = field(default_factory=dict)
    color_index: int = 0
    depth_index: int = 0


class XRSession:
    """One OpenXR session with an OpenGL context; use as a context manager.

    `graphics`: "auto" (EGL where offered, else GLX), "egl" or "glx".
    """

    def __init__(self, graphics: str = "auto", app_name: str = "stadtzeit",
                 use_depth_layer: bool = True):
        self.graphics = graphics
        self.app_name = app_name
        self.use_depth_layer = use_depth_layer
        self.state = xr.SessionState.UNKNOWN
        self.states: list[str] = []          # every state reached, in order (for tests, logs)
        self.running = False
        self.exiting = False
        self.lost = False
        self.exit_requested = False
        self.instance: xr.Instance | None = None
        self.session: xr.Session | None = None
        self.context = None
        self.eyes: list[_Eye] = []
        self.space: xr.Space | None = None
        self.view_space: xr.Space | None = None
        self.floor_y = 0.0
        self.space_type = ""
        self._keep: list[object] = []         # structures the runtime reads during end_frame

    # ----------------------------------------------------------------- setup

    def __enter__(self) -> XRSession:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        exts = available_extensions()
        kind = self.graphics
        if kind == "auto":
            kind = "egl" if EGL_EXTENSION in exts else "glx"
        if kind == "egl" and EGL_EXTENSION not in exts:
            raise unavailable(f"the runtime does not offer {EGL_EXTENSION} (EGL); "
                               "try --graphics glx on an X display")
        if GL_EXTENSION not in exts:
            raise unavailable(f"the runtime does not offer {GL_EXTENSION} (OpenGL)")
        enable = [GL_EXTENSION] + ([EGL_EXTENSION] if kind == "egl" else [])
        # controller profiles beyond core OpenXR 1.0, where the runtime has them
        enable += sorted(set(PROFILE_EXTENSIONS.values()) & set(exts))
        self.depth_layer = self.use_depth_layer and DEPTH_EXTENSION in exts
        if self.depth_layer:
            enable.append(DEPTH_EXTENSION)
        self.kind = kind
        try:
            self.instance = xr.create_instance(xr.InstanceCreateInfo(
                application_info=xr.ApplicationInfo(self.app_name, 1, "stadtzeit", 1),
                enabled_extension_names=enable))
            self.enabled_extensions = frozenset(enable)
            self.system = xr.get_system(self.instance, xr.SystemGetInfo(
                form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
        except xr.FormFactorUnavailableError as exc:
            raise unavailable("the runtime answers, but no headset is connected") from exc
        except xr.XrException as exc:
            raise unavailable(f"{type(exc).__name__}: {exc}") from exc
        props = xr.get_instance_properties(self.instance)
        self.runtime_name = _text(props.runtime_name)
        self.system_name = _text(xr.get_system_properties(self.instance, self.system).system_name)
        req = _gl_requirements(self.instance, self.system)   # required before the session
        log.info("runtime %s, system %s, OpenGL %s..%s, graphics %s", self.runtime_name,
                 self.system_name, xr.Version(req.min_api_version_supported),
                 xr.Version(req.max_api_version_supported), kind)

        from viewer.vr.context import EGLContext, GLXContext

        # 3.3 core is all the renderer needs; ask for more if the runtime wants more (some
        # drivers give exactly the version asked for)
        low = xr.Version(req.min_api_version_supported)
        version = max((3, 3), (low.major, low.minor))
        self.context = EGLContext(version=version) if kind == "egl" else \
            GLXContext(version=version)
        binding = self._binding()
        self.session = xr.create_session(self.instance, xr.SessionCreateInfo(
            system_id=self.system, next=ctypes.cast(ctypes.pointer(binding), ctypes.c_void_p)))
        self._binding_struct = binding          # the runtime may read it until the end

        spaces = xr.enumerate_reference_spaces(self.session)
        local_floor = getattr(xr.ReferenceSpaceType, "LOCAL_FLOOR", None)
        if xr.ReferenceSpaceType.STAGE in spaces:
            stype, self.floor_y = xr.ReferenceSpaceType.STAGE, 0.0
        elif local_floor is not None and local_floor in spaces:
            stype, self.floor_y = local_floor, 0.0
        else:                    # origin at the head at start: the floor is below it
            stype, self.floor_y = xr.ReferenceSpaceType.LOCAL, -LOCAL_EYE_HEIGHT
        self.space_type = stype.name
        self.space = xr.create_reference_space(self.session, xr.ReferenceSpaceCreateInfo(
            reference_space_type=stype))
        self.view_space = xr.create_reference_space(self.session, xr.ReferenceSpaceCreateInfo(
            reference_space_type=xr.ReferenceSpaceType.VIEW))
        self.blend_mode = xr.enumerate_environment_blend_modes(
            self.instance, self.system, xr.ViewConfigurationType.PRIMARY_STEREO)[0]
        self._swapchains()

    def _binding(self):
        ctx = self.context
        if self.kind == "egl":
            fields = dict(xr.GraphicsBindingEGLMNDX._fields_)
            b = xr.GraphicsBindingEGLMNDX()
            b.get_proc_address = ctypes.cast(ctx.get_proc_address, xr.PFN_xrEglGetProcAddressMNDX)
            for name, value in (("display", ctx.display), ("config", ctx.config),
                                ("context", ctx.context)):
                raw = value.value if isinstance(value, ctypes.c_void_p) else value
                setattr(b, name, ctypes.cast(ctypes.c_void_p(raw), fields[name]))
            return b
        from OpenGL import GLX

        ctx.make_current()
        return xr.GraphicsBindingOpenGLXlibKHR(
            x_display=GLX.glXGetCurrentDisplay(), glx_drawable=GLX.glXGetCurrentDrawable(),
            glx_context=GLX.glXGetCurrentContext())

    def _swapchains(self) -> None:
        formats = list(xr.enumerate_swapchain_formats(self.session))
        color = next((f for f in formats if f in SRGB_FORMATS), None)
        self.srgb = color is not None
        if color is None:
            color = next((f for f in formats if f in LINEAR_FORMATS), formats[0])
            log.warning("the runtime offers no sRGB swapchain format; using 0x%x", color)
        depth = next((f for f in formats if f in DEPTH_FORMATS), None) \
            if self.depth_layer else None
        self.color_format, self.depth_format = color, depth
        views = xr.enumerate_view_configuration_views(
            self.instance, self.system, xr.ViewConfigurationType.PRIMARY_STEREO)
        self.context.make_current()
        for v in views:
            w, h = v.recommended_image_rect_width, v.recommended_image_rect_height
            sc = xr.create_swapchain(self.session, xr.SwapchainCreateInfo(
                usage_flags=(xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT
                             | xr.SwapchainUsageFlags.SAMPLED_BIT),
                format=color, sample_count=1, width=w, height=h, face_count=1, array_size=1,
                mip_count=1))
            eye = _Eye(w, h, sc, [int(i.image) for i in xr.enumerate_swapchain_images(
                sc, xr.SwapchainImageOpenGLKHR)])
            if depth is not None:
                eye.depth = xr.create_swapchain(self.session, xr.SwapchainCreateInfo(
                    usage_flags=xr.SwapchainUsageFlags.DEPTH_STENCIL_ATTACHMENT_BIT,
                    format=depth, sample_count=1, width=w, height=h, face_count=1,
                    array_size=1, mip_count=1))
                eye.depth_images = [int(i.image) for i in xr.enumerate_swapchain_images(
                    eye.depth, xr.SwapchainImageOpenGLKHR)]
            else:
                eye.own_depth = int(GL.glGenRenderbuffers(1))
                GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, eye.own_depth)
                GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, w, h)
            self.eyes.append(eye)
        log.info("swapchains: %s x %dx%d, colour 0x%x%s, depth %s", len(self.eyes),
                 self.eyes[0].width, self.eyes[0].height, color, " (sRGB)" if self.srgb else "",
                 f"0x{depth:x} (layer)" if depth else "own buffers")

    # ----------------------------------------------------------------- the state machine

    def poll(self) -> None:
        """Handle every pending runtime event (session state changes above all)."""
        while True:
            try:
                event = xr.poll_event(self.instance)
            except xr.EventUnavailable:
                return
            etype = xr.StructureType(event.type)
            if etype == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                changed = ctypes.cast(ctypes.byref(event), ctypes.POINTER(
                    xr.EventDataSessionStateChanged)).contents
                self._on_state(xr.SessionState(changed.state))
            elif etype == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING:
                log.warning("the OpenXR runtime is going away (instance loss pending)")
                self.lost = self.exiting = True
            elif etype == xr.StructureType.EVENT_DATA_INTERACTION_PROFILE_CHANGED:
                log.info("controllers changed")
            elif etype == xr.StructureType.EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING:
                log.info("the runtime recentred the %s space", self.space_type)

    def _on_state(self, state: xr.SessionState) -> None:
        self.state = state
        self.states.append(state.name)
        log.info("session state %s", state.name)
        if state == xr.SessionState.READY:
            xr.begin_session(self.session, xr.SessionBeginInfo(
                primary_view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO))
            self.running = True
        elif state == xr.SessionState.STOPPING:
            self.running = False
            xr.end_session(self.session)
        elif state == xr.SessionState.EXITING:
            self.exiting = True
        elif state == xr.SessionState.LOSS_PENDING:
            self.running = False
            self.lost = self.exiting = True

    @property
    def focused(self) -> bool:
        return self.state == xr.SessionState.FOCUSED

    def request_exit(self) -> None:
        """Ask the runtime to end the session: STOPPING, then EXITING, arrive as events."""
        if self.exit_requested:
            return
        self.exit_requested = True
        if self.running:
            xr.request_exit_session(self.session)
        else:
            self.exiting = True

    # ----------------------------------------------------------------- frames

    def wait_frame(self) -> xr.FrameState:
        """xrWaitFrame (blocks until the runtime wants the next frame) + xrBeginFrame."""
        state = xr.wait_frame(self.session, xr.FrameWaitInfo())
        xr.begin_frame(self.session, xr.FrameBeginInfo())
        return state

    def locate_views(self, display_time: int) -> Sequence[xr.View] | None:
        """Both eyes' poses and fields of view in our space; None while not tracked."""
        state, views = xr.locate_views(self.session, xr.ViewLocateInfo(
            view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO,
            display_time=display_time, space=self.space))
        valid = xr.ViewStateFlags.POSITION_VALID_BIT | xr.ViewStateFlags.ORIENTATION_VALID_BIT
        if (state.view_state_flags & valid) != valid:
            return None
        return views

    def acquire(self, index: int) -> tuple[int, int, int]:
        """Acquire eye `index`'s images; returns (framebuffer, width, height) to draw into."""
        eye = self.eyes[index]
        wait = xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION)
        eye.color_index = xr.acquire_swapchain_image(eye.color, xr.SwapchainImageAcquireInfo())
        xr.wait_swapchain_image(eye.color, wait)
        color = eye.color_images[eye.color_index]
        depth = eye.own_depth
        if eye.depth is not None:
            eye.depth_index = xr.acquire_swapchain_image(eye.depth,
                                                         xr.SwapchainImageAcquireInfo())
            xr.wait_swapchain_image(eye.depth, wait)
            depth = eye.depth_images[eye.depth_index]
        key = (color, depth)
        fbo = eye.fbos.get(key)
        if fbo is None:
            fbo = eye.fbos[key] = self._framebuffer(color, depth, eye.depth is not None)
        return fbo, eye.width, eye.height

    def _framebuffer(self, color: int, depth: int, depth_texture: bool) -> int:
        fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D,
                                  color, 0)
        attach = GL.GL_DEPTH_STENCIL_ATTACHMENT if self.depth_format == GL.GL_DEPTH24_STENCIL8 \
            else GL.GL_DEPTH_ATTACHMENT
        if depth_texture:
            GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, attach, GL.GL_TEXTURE_2D, depth, 0)
        else:
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT,
                                         GL.GL_RENDERBUFFER, depth)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"swapchain framebuffer incomplete (0x{status:x})")
        return fbo

    def release(self, index: int) -> None:
        eye = self.eyes[index]
        xr.release_swapchain_image(eye.color, xr.SwapchainImageReleaseInfo())
        if eye.depth is not None:
            xr.release_swapchain_image(eye.depth, xr.SwapchainImageReleaseInfo())

    def end_frame(self, state: xr.FrameState, views: Sequence[xr.View] | None = None,
                  near_far: tuple[float, float] = (0.05, 10000.0)) -> None:
        """xrEndFrame, with a projection layer of both eyes when they were drawn."""
        layers = []
        self._keep = []
        if views is not None:
            proj_views = (xr.CompositionLayerProjectionView * len(views))()
            for i, (view, eye) in enumerate(zip(views, self.eyes, strict=True)):
                pv = proj_views[i]
                pv.type = xr.StructureType.COMPOSITION_LAYER_PROJECTION_VIEW
                pv.pose, pv.fov = view.pose, view.fov
                pv.sub_image.swapchain = eye.color
                pv.sub_image.image_rect.extent.width = eye.width
                pv.sub_image.image_rect.extent.height = eye.height
                if eye.depth is not None:
                    depth = xr.CompositionLayerDepthInfoKHR(
                        sub_image=xr.SwapchainSubImage(
                            swapchain=eye.depth, image_rect=xr.Rect2Di(
                                extent=xr.Extent2Di(eye.width, eye.height))),
                        min_depth=0.0, max_depth=1.0, near_z=near_far[0], far_z=near_far[1])
                    self._keep.append(depth)
                    pv.next = ctypes.cast(ctypes.pointer(depth), ctypes.c_void_p)
            layer = xr.CompositionLayerProjection(space=self.space, views=proj_views)
            self._keep += [proj_views, layer]
            layers.append(ctypes.byref(layer))
        xr.end_frame(self.session, xr.FrameEndInfo(
            display_time=state.predicted_display_time, environment_blend_mode=self.blend_mode,
            layers=layers))

    # ----------------------------------------------------------------- teardown

    def close(self) -> None:
        """Destroy everything we made, in reverse order (safe after a partial open, and
        after the runtime is gone: each step is tried on its own)."""
        if self.context is not None:
            try:
                self.context.make_current()
                for eye in self.eyes:
                    if eye.fbos:
                        GL.glDeleteFramebuffers(len(eye.fbos), list(eye.fbos.values()))
                    if eye.own_depth:
                        GL.glDeleteRenderbuffers(1, [eye.own_depth])
            except Exception as exc:   # a lost context must not hide the real error
                log.debug("GL cleanup failed: %s", exc)
        steps = [(xr.destroy_swapchain, sc) for eye in self.eyes
                 for sc in (eye.color, eye.depth) if sc is not None]
        steps += [(xr.destroy_space, getattr(self, n, None)) for n in ("view_space", "space")]
        steps += [(xr.destroy_session, self.session)]
        for destroy, handle in steps:
            if handle is not None:
                try:
                    destroy(handle)
                except xr.XrException as exc:
                    log.debug("%s: %s", destroy.__name__, exc)
        self.eyes, self.view_space, self.space, self.session = [], None, None, None
        if self.context is not None:
            self.context.destroy()
            self.context = None
        if self.instance is not None:
            try:
                xr.destroy_instance(self.instance)
            except xr.XrException as exc:
                log.debug("destroy_instance: %s", exc)
            self.instance = None


def _gl_requirements(instance: xr.Instance, system: int) -> xr.GraphicsRequirementsOpenGLKHR:
    # called through the proc address: pyopenxr's xr.ext.KHR.opengl_enable fails to import
    # on Linux (it names Windows-only types)
    fn = ctypes.cast(xr.get_instance_proc_addr(instance, "xrGetOpenGLGraphicsRequirementsKHR"),
                     xr.PFN_xrGetOpenGLGraphicsRequirementsKHR)
    req = xr.GraphicsRequirementsOpenGLKHR()
    result = xr.check_result(xr.Result(fn(instance, system, ctypes.byref(req))))
    if result.is_exception():
        raise result
    return req


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

