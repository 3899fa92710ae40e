"""Single-pass stereo: both eyes drawn by one draw call per object (GL_OVR_multiview2).

The eyes are the two layers of one colour and one depth array texture, attached to one
framebuffer with glFramebufferTextureMultiviewOVR; the renderer's vertex shaders then run once
per view and pick their eye's matrix with gl_ViewID_OVR (`Renderer(views=2)`). Afterwards each
layer is blitted into its eye's swapchain image (colour, and depth when the runtime takes a
depth layer). With MSAA the arrays are multisampled and that blit is the resolve, so it costs
nothing on top of what the two-pass path's `MultisampleTarget` does; without MSAA it is one
extra copy per eye (an array swapchain would save it; see docs/VR.md).

`stereo_setup` decides at start (and logs it): multiview where the context has the extension,
both eyes have the same size, the driver can attach the arrays and is no software rasteriser
(llvmpipe: measured slower, see docs/VR.md), else the two-pass path,
which draws every object once per eye. `--stereo` or STADTZEIT_VR_STEREO force either.
"""

from __future__ import annotations

import ctypes
import logging
import os

import numpy as np

from assets_manifest.errors import StadtzeitError
from viewer.vr.gl import GL
from viewer.vr.renderer import Renderer, blit_eye
from viewer.vr.scene_data import VRScene

log = logging.getLogger(__name__)

EXTENSIONS = ("GL_OVR_multiview", "GL_OVR_multiview2")
MODES = ("auto", "multiview", "two-pass")
#: environment variable that forces a stereo mode (tests, comparing the two paths)
ENV = "STADTZEIT_VR_STEREO"

# format and type for allocating a depth texture of each internal format (no data)
_DEPTH_UPLOAD = {
    GL.GL_DEPTH_COMPONENT16: (GL.GL_DEPTH_COMPONENT, GL.GL_UNSIGNED_SHORT),
    GL.GL_DEPTH_COMPONENT24: (GL.GL_DEPTH_COMPONENT, GL.GL_UNSIGNED_INT),
    GL.GL_DEPTH_COMPONENT32F: (GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT),
    GL.GL_DEPTH24_STENCIL8: (GL.GL_DEPTH_STENCIL, GL.GL_UNSIGNED_INT_24_8),
}


class StereoModeError(StadtzeitError):
    """The stereo mode asked for (--stereo or STADTZEIT_VR_STEREO) cannot be used here."""


def gl_extensions() -> frozenset[str]:
    """The current context's OpenGL extensions."""
    n = int(GL.glGetIntegerv(GL.GL_NUM_EXTENSIONS))
    names = (GL.glGetStringi(GL.GL_EXTENSIONS, i) for i in range(n))
    return frozenset(x.decode() if isinstance(x, bytes) else str(x) for x in names)


def requested_mode(requested: str | None) -> str:
    """The mode asked for: `requested`, else STADTZEIT_VR_STEREO, else "auto"; checked."""
    mode = requested or os.environ.get(ENV) or "auto"
    if mode not in MODES:
        raise StereoModeError(f"stereo mode {mode!r} (--stereo or {ENV}): use one of "
                              f"{', '.join(MODES)}")
    return mode


#: GL_RENDERER names of software rasterisers: multiview measured slower there (docs/VR.md)
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast")


def choose(requested: str | None, extensions: frozenset[str],
           eye_sizes: list[tuple[int, int]], renderer: str = "") -> str:
    """"multiview" or "two-pass" for `requested` ("auto", a forced mode, or None: the
    environment's STADTZEIT_VR_STEREO, else auto). Auto takes multiview where the driver
    (`extensions`, GL_RENDERER `renderer`) has it, unless it is a software rasteriser: on
    Mesa's llvmpipe multiview draws the same pixels, copies both layers on top, and was
    measured up to 2.5x slower on the demo site."""
    mode = requested_mode(requested)
    missing = [e for e in EXTENSIONS if e not in extensions]
    same_size = len(eye_sizes) == 2 and eye_sizes[0] == eye_sizes[1]
    if mode == "multiview" and (missing or not same_size):
        why = (f"the OpenGL driver lacks {', '.join(missing)}" if missing else
               f"the eyes differ in size {eye_sizes}")
        raise StereoModeError(f"multiview stereo was asked for, but {why}; use --stereo "
                              "two-pass or auto")
    if mode == "auto":
        software = any(name in renderer.lower() for name in SOFTWARE_RENDERERS)
        mode = "two-pass" if missing or not same_size or software else "multiview"
    return mode


class LayeredTarget:
    """Both eyes' colour (sRGB) and depth as two-layer array textures, multisampled when
    `samples` > 1, attached as one multiview framebuffer (`fbo`, drawn by a `views=2`
    renderer), plus one framebuffer per layer to read it back or blit it out."""

    VIEWS = 2

    def __init__(self, width: int, height: int, samples: int = 1,
                 depth_format: int = GL.GL_DEPTH_COMPONENT24):
        self.width, self.height = width, height
        self.samples = max(1, min(int(samples), int(GL.glGetIntegerv(GL.GL_MAX_SAMPLES))))
        target = GL.GL_TEXTURE_2D_MULTISAMPLE_ARRAY if self.samples > 1 else \
            GL.GL_TEXTURE_2D_ARRAY
        self.color, self.depth = (int(t) for t in GL.glGenTextures(2))
        for tex, fmt in ((self.color, GL.GL_SRGB8_ALPHA8), (self.depth, depth_format)):
            GL.glBindTexture(target, tex)
            if self.samples > 1:
                GL.glTexImage3DMultisample(target, self.samples, fmt, width, height,
                                           self.VIEWS, GL.GL_TRUE)
            else:
                upload = _DEPTH_UPLOAD.get(fmt, (GL.GL_RGBA, GL.GL_UNSIGNED_BYTE))
                GL.glTexImage3D(target, 0, fmt, width, height, self.VIEWS, 0, *upload, None)
                GL.glTexParameteri(target, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
                GL.glTexParameteri(target, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        GL.glBindTexture(target, 0)
        stencil = depth_format == GL.GL_DEPTH24_STENCIL8
        attach = GL.GL_DEPTH_STENCIL_ATTACHMENT if stencil else GL.GL_DEPTH_ATTACHMENT
        self.depth_bits = GL.GL_DEPTH_BUFFER_BIT | (GL.GL_STENCIL_BUFFER_BIT if stencil else 0)

        attach_views = _framebuffer_texture_multiview()
        self.fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        attach_views(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, self.color, 0, 0, self.VIEWS)
        attach_views(GL.GL_FRAMEBUFFER, attach, self.depth, 0, 0, self.VIEWS)
        error = GL.glGetError()     # called through ctypes: nobody else looks
        try:
            if error:
                raise RuntimeError(f"the driver refuses multiview into {self.samples}-sample "
                                   f"array textures (GL error 0x{error:x})")
            _check("multiview")
        except RuntimeError:
            self.layers = []
            self.destroy()
            raise
        self.layers = [int(f) for f in np.atleast_1d(GL.glGenFramebuffers(self.VIEWS))]
        for i, fbo in enumerate(self.layers):
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                         self.color, 0, i)
            GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, attach, self.depth, 0, i)
            _check(f"layer {i}")
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def resolve(self, layer: int, framebuffer: int, with_depth: bool = True) -> None:
        """Copy eye `layer` into `framebuffer` (its swapchain image), averaging the samples
        with MSAA; depth too when the runtime is given a depth layer."""
        blit_eye(self.layers[layer], framebuffer, self.width, self.height,
                 self.depth_bits if with_depth else 0)

    def read(self, layer: int) -> np.ndarray:
        """(H, W, 4) uint8 of eye `layer`, first row at the top (single-sampled only)."""
        if self.samples > 1:
            raise ValueError("resolve a multisampled target into a framebuffer to read it")
        return Renderer.read_pixels(self.layers[layer], self.width, self.height)

    def destroy(self) -> None:
        GL.glDeleteFramebuffers(1 + len(self.layers), [self.fbo, *self.layers])
        GL.glDeleteTextures([self.color, self.depth])


def stereo_setup(scene: VRScene, requested: str | None, eye_sizes: list[tuple[int, int]],
                 msaa: int, depth_format: int) -> tuple[str, Renderer, LayeredTarget | None]:
    """The stereo path for this context, its renderer and, for multiview, the layered target
    both eyes are drawn into; logs which. Multiview where the driver has the extension (and
    is no software rasteriser: `choose`) and can keep the MSAA asked for; a driver that can
    do multiview but not into multisampled arrays (as Mesa's llvmpipe 25, when forced) runs
    multiview without MSAA if multiview is forced, else two passes with MSAA. A driver that
    names the extension but fails to compile or attach falls back to two passes, unless
    multiview was forced."""
    forced = requested_mode(requested) == "multiview"
    gl_renderer = (GL.glGetString(GL.GL_RENDERER) or b"").decode(errors="replace")
    mode = choose(requested, gl_extensions(), eye_sizes, gl_renderer)
    if mode == "multiview":
        width, height = eye_sizes[0]
        layered: LayeredTarget | None = None
        try:
            try:
                layered = LayeredTarget(width, height, msaa, depth_format)
            except RuntimeError as exc:
                if msaa <= 1 or not forced:
                    raise
                log.warning("%s: multiview without MSAA", exc)
                layered = LayeredTarget(width, height, 1, depth_format)
            renderer = Renderer(scene, views=2)
            log.info("stereo: multiview (GL_OVR_multiview2: one draw per object for both "
                     "eyes), %d sample(s) per pixel", layered.samples)
            return mode, renderer, layered
        except RuntimeError as exc:
            if layered is not None:
                layered.destroy()
            if forced:
                raise StereoModeError(f"multiview stereo was asked for but failed: {exc}") \
                    from exc
            log.info("multiview not used (%s)", exc)
    log.info("stereo: two-pass (each eye drawn in turn; %s)", gl_renderer)
    return "two-pass", Renderer(scene), None


def _framebuffer_texture_multiview():
    """glFramebufferTextureMultiviewOVR of the current context, found through EGL or GLX
    (whichever has a context current): PyOpenGL looks it up on its own platform only, and
    pyopenxr forces that to GLX even under an EGL context."""
    fn_type = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
                               ctypes.c_int, ctypes.c_int, ctypes.c_int)
    name = b"glFramebufferTextureMultiviewOVR"
    for lib, current, lookup in (("libEGL.so.1", "eglGetCurrentContext", "eglGetProcAddress"),
                                 ("libGLX.so.0", "glXGetCurrentContext", "glXGetProcAddressARB"),
                                 ("libGL.so.1", "glXGetCurrentContext", "glXGetProcAddressARB")):
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        getattr(dll, current).restype = ctypes.c_void_p
        if not getattr(dll, current)():
            continue
        get = getattr(dll, lookup)
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        address = get(name)
        if address:
            return fn_type(address)
    raise RuntimeError("glFramebufferTextureMultiviewOVR not found for the current context")


def _check(what: str) -> None:
    status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
    if status != GL.GL_FRAMEBUFFER_COMPLETE:
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        raise RuntimeError(f"{what} framebuffer incomplete (0x{status:x})")
