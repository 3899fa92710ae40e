"""PyOpenGL as VR mode uses it: imported through here so the settings below come first.

PyOpenGL calls glGetError after every call unless told not to; that doubles Python's work per
frame, so it is off (STADTZEIT_GL_DEBUG=1 turns it back on while debugging). The flag only
takes effect if OpenGL.GL has not been imported yet.

`glVertexAttribPointer` and `glMultiDrawElements` are taken raw: PyOpenGL's wrappers file
pointers under the current context as its platform sees it, and with pyopenxr's forced GLX
platform an EGL context is invisible to it ("no valid context"). We only ever pass offsets
into buffer objects.
"""

from __future__ import annotations

import os
import sys

import OpenGL

if "OpenGL.GL" not in sys.modules:
    OpenGL.ERROR_CHECKING = bool(os.environ.get("STADTZEIT_GL_DEBUG"))

from OpenGL import GL  # noqa: E402
from OpenGL.raw.GL.VERSION.GL_1_4 import glMultiDrawElements  # noqa: E402
from OpenGL.raw.GL.VERSION.GL_2_0 import glVertexAttribPointer  # noqa: E402

__all__ = ["GL", "glMultiDrawElements", "glVertexAttribPointer"]
