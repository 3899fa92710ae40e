"""OpenGL 3.3 core contexts with no window of their own, for VR mode and the benchmark.

- `EGLContext`: headless, through libEGL directly (ctypes). It picks a hardware EGL device when
  there is one (NVIDIA without X), else Mesa's surfaceless platform (llvmpipe), else the
  default display. Called through ctypes rather than PyOpenGL's EGL module because pyopenxr
  switches PyOpenGL to its GLX platform on import, under which EGL extension functions cannot
  be found. GL calls themselves go through libglvnd, which dispatches to whichever context is
  current, EGL or GLX.
- `GLXContext`: an X display (a desktop or Xvfb) and a hidden GLFW window, for runtimes that
  only offer XR_KHR_opengl_enable (SteamVR).
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, byref, c_char_p, c_int32, c_uint, c_void_p

from assets_manifest.errors import StadtzeitError

EGL_NONE = 0x3038
EGL_EXTENSIONS = 0x3055
EGL_VENDOR = 0x3053
EGL_RED_SIZE, EGL_GREEN_SIZE, EGL_BLUE_SIZE, EGL_ALPHA_SIZE = 0x3024, 0x3023, 0x3022, 0x3021
EGL_DEPTH_SIZE = 0x3025
EGL_SURFACE_TYPE, EGL_PBUFFER_BIT = 0x3033, 0x0001
EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT = 0x3040, 0x0008
EGL_WIDTH, EGL_HEIGHT = 0x3057, 0x3056
EGL_OPENGL_API = 0x30A2
EGL_CONTEXT_MAJOR_VERSION, EGL_CONTEXT_MINOR_VERSION = 0x3098, 0x30FB
EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT = 0x30FD, 0x0001
EGL_PLATFORM_DEVICE_EXT = 0x313F
EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
EGL_DEFAULT_DISPLAY = None


class GLContextError(StadtzeitError):
    """No OpenGL 3.3 core context could be made; says which platform failed and why."""


def _egl_library() -> ctypes.CDLL:
    for name in ("libEGL.so.1", "libEGL.so"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise GLContextError("libEGL.so.1 not found: install libegl1 (and a driver: libegl-mesa0 "
                         "for Mesa, or the NVIDIA driver)")


class EGLContext:
    """A headless OpenGL core context (3.3 unless asked for more). `platform` is "device",
    "surfaceless" or "default" (None: choose; `STADTZEIT_EGL_PLATFORM` overrides)."""

    kind = "egl"

    def __init__(self, platform: str | None = None, version: tuple[int, int] = (3, 3)):
        egl = self.lib = _egl_library()
        egl.eglGetProcAddress.restype = c_void_p
        egl.eglGetProcAddress.argtypes = [c_char_p]
        egl.eglQueryString.restype = c_char_p
        egl.eglQueryString.argtypes = [c_void_p, c_int32]
        egl.eglGetDisplay.restype = c_void_p
        egl.eglGetDisplay.argtypes = [c_void_p]
        egl.eglInitialize.argtypes = [c_void_p, POINTER(c_int32), POINTER(c_int32)]
        egl.eglChooseConfig.argtypes = [c_void_p, POINTER(c_int32), POINTER(c_void_p), c_int32,
                                        POINTER(c_int32)]
        egl.eglBindAPI.argtypes = [c_uint]
        egl.eglCreateContext.restype = c_void_p
        egl.eglCreateContext.argtypes = [c_void_p, c_void_p, c_void_p, POINTER(c_int32)]
        egl.eglCreatePbufferSurface.restype = c_void_p
        egl.eglCreatePbufferSurface.argtypes = [c_void_p, c_void_p, POINTER(c_int32)]
        egl.eglMakeCurrent.argtypes = [c_void_p, c_void_p, c_void_p, c_void_p]
        egl.eglDestroyContext.argtypes = [c_void_p, c_void_p]
        egl.eglDestroySurface.argtypes = [c_void_p, c_void_p]
        egl.eglTerminate.argtypes = [c_void_p]
        egl.eglGetError.restype = c_int32

        platform = platform or os.environ.get("STADTZEIT_EGL_PLATFORM") or None
        client = (egl.eglQueryString(None, EGL_EXTENSIONS) or b"").decode().split()
        self.display, self.platform = self._display(client, platform)
        major, minor = c_int32(), c_int32()
        if not egl.eglInitialize(self.display, byref(major), byref(minor)):
            raise GLContextError(f"eglInitialize failed on the {self.platform} platform "
                                 f"(error 0x{egl.eglGetError():x})")
        self.egl_version = (major.value, minor.value)
        exts = (egl.eglQueryString(self.display, EGL_EXTENSIONS) or b"").decode().split()
        self.surfaceless = "EGL_KHR_surfaceless_context" in exts

        self.config = c_void_p()
        n = c_int32()
        for surface_bits in (EGL_PBUFFER_BIT, 0):   # some surfaceless configs lack pbuffers
            attrs = [EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_ALPHA_SIZE, 8,
                     EGL_DEPTH_SIZE, 24, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT]
            if surface_bits:
                attrs += [EGL_SURFACE_TYPE, surface_bits]
            arr = (c_int32 * (len(attrs) + 1))(*attrs, EGL_NONE)
            if egl.eglChooseConfig(self.display, arr, byref(self.config), 1, byref(n)) \
                    and n.value:
                break
        else:
            raise GLContextError(f"no RGBA8 + depth OpenGL config on EGL {self.platform}")
        if not egl.eglBindAPI(EGL_OPENGL_API):
            raise GLContextError("this EGL cannot bind desktop OpenGL (only GLES?)")
        ctx_attrs = (c_int32 * 7)(EGL_CONTEXT_MAJOR_VERSION, version[0],
                                  EGL_CONTEXT_MINOR_VERSION, version[1],
                                  EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                  EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE)
        self.context = egl.eglCreateContext(self.display, self.config, None, ctx_attrs)
        if not self.context:
            raise GLContextError(f"no OpenGL {version[0]}.{version[1]} core context on EGL "
                                 f"{self.platform} "
                                 f"(error 0x{egl.eglGetError():x})")
        self.surface = None
        if not self.surfaceless:
            pb = (c_int32 * 5)(EGL_WIDTH, 1, EGL_HEIGHT, 1, EGL_NONE)
            self.surface = egl.eglCreatePbufferSurface(self.display, self.config, pb)
        self.make_current()

    def _proc(self, name: str, restype, *argtypes):
        addr = self.lib.eglGetProcAddress(name.encode())
        return ctypes.CFUNCTYPE(restype, *argtypes)(addr) if addr else None

    def _display(self, client: list[str], platform: str | None) -> tuple[c_void_p, str]:
        get_platform_display = self._proc("eglGetPlatformDisplayEXT", c_void_p, c_uint,
                                          c_void_p, POINTER(c_int32))
        if platform in (None, "device") and "EGL_EXT_platform_device" in client:
            query = self._proc("eglQueryDevicesEXT", c_uint, c_int32, POINTER(c_void_p),
                               POINTER(c_int32))
            query_string = self._proc("eglQueryDeviceStringEXT", c_char_p, c_void_p, c_int32)
            devices = (c_void_p * 16)()
            n = c_int32()
            if query and query(16, devices, byref(n)):
                hardware = [d for d in devices[:n.value]
                            if b"EGL_MESA_device_software" not in
                            (query_string(d, EGL_EXTENSIONS) or b"")]
                pick = hardware or (list(devices[:n.value]) if platform == "device" else [])
                index = int(os.environ.get("STADTZEIT_EGL_DEVICE", "0"))
                if pick and get_platform_display:
                    dpy = get_platform_display(EGL_PLATFORM_DEVICE_EXT,
                                               pick[min(index, len(pick) - 1)], None)
                    if dpy:
                        return dpy, "device"
        if platform in (None, "surfaceless") and "EGL_MESA_platform_surfaceless" in client \
                and get_platform_display:
            dpy = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, None, None)
            if dpy:
                return dpy, "surfaceless"
        dpy = self.lib.eglGetDisplay(EGL_DEFAULT_DISPLAY)
        if not dpy:
            raise GLContextError("no EGL display (is a Mesa or NVIDIA EGL driver installed?)")
        return dpy, "default"

    @property
    def get_proc_address(self) -> int:
        """Address of eglGetProcAddress (for XR_MNDX_egl_enable's graphics binding)."""
        return ctypes.cast(self.lib.eglGetProcAddress, c_void_p).value or 0

    def make_current(self) -> None:
        if not self.lib.eglMakeCurrent(self.display, self.surface, self.surface, self.context):
            raise GLContextError(f"eglMakeCurrent failed (error 0x{self.lib.eglGetError():x})")

    def release(self) -> None:
        self.lib.eglMakeCurrent(self.display, None, None, None)

    def destroy(self) -> None:
        if self.context:
            self.release()
            if self.surface:
                self.lib.eglDestroySurface(self.display, self.surface)
            self.lib.eglDestroyContext(self.display, self.context)
            self.lib.eglTerminate(self.display)
            self.context = self.surface = None


class GLXContext:
    """An OpenGL core context (3.3 unless asked for more) on X (GLX), in a hidden 1x1 GLFW
    window."""

    kind = "glx"

    def __init__(self, version: tuple[int, int] = (3, 3)) -> None:
        if not os.environ.get("DISPLAY"):
            raise GLContextError("GLX needs an X display (DISPLAY is not set): run on a "
                                 "desktop or under Xvfb, or use EGL (--graphics egl)")
        import glfw

        if hasattr(glfw, "PLATFORM"):   # GLFW 3.4 may pick Wayland; GLX means X11
            glfw.init_hint(glfw.PLATFORM, glfw.PLATFORM_X11)
        if not glfw.init():
            raise GLContextError(f"GLFW could not open the X display {os.environ['DISPLAY']}")
        self.glfw = glfw
        glfw.window_hint(glfw.VISIBLE, glfw.FALSE)
        glfw.window_hint(glfw.CONTEXT_CREATION_API, glfw.NATIVE_CONTEXT_API)
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, version[0])
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, version[1])
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, glfw.TRUE)
        glfw.window_hint(glfw.DOUBLEBUFFER, glfw.FALSE)
        self.window = glfw.create_window(1, 1, "stadtzeit VR", None, None)
        if not self.window:
            glfw.terminate()
            raise GLContextError(f"no OpenGL {version[0]}.{version[1]} core context through "
                                 "GLX on this display")
        self.make_current()

    def make_current(self) -> None:
        self.glfw.make_context_current(self.window)

    def release(self) -> None:
        self.glfw.make_context_current(None)

    def destroy(self) -> None:
        if self.window:
            self.release()
            self.glfw.destroy_window(self.window)
            self.glfw.terminate()
            self.window = None


def gl_info() -> dict[str, str]:
    """Vendor, renderer and version of the current context."""
    from OpenGL import GL

    return {k: (GL.glGetString(v) or b"").decode(errors="replace") for k, v in (
        ("vendor", GL.GL_VENDOR), ("renderer", GL.GL_RENDERER), ("version", GL.GL_VERSION))}
