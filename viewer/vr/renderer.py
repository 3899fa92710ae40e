"""The VR renderer: OpenGL 3.3 core through PyOpenGL, one eye at a time into any framebuffer,
or both eyes at once into a multiview one (GL_OVR_multiview2, `viewer.vr.multiview`).

Everything is uploaded once (`Renderer.__init__`): every epoch's mesh into its own vertex array
(positions, normals, vertex colours or a texture, the change values as one float per vertex),
the annotation markers, the ground, the controllers and the heatmap's colour table. A frame
then costs a fixed number of GL calls per eye (per frame with multiview) whatever the mesh
size: uniforms, binds, one draw per object — the site's mesh only the tiles in view
(`viewer.vr.culling`). The teleport pointer is the only per-frame upload, of a few hundred bytes.

Colour: lighting and blending happen in linear light and the sRGB framebuffer encodes
(GL_FRAMEBUFFER_SRGB). Stored colours are sRGB-encoded bytes, as scanners and cameras deliver
them and as the desktop viewer shows them: vertex colours are decoded in the shader, textures
are uploaded as sRGB textures (decoded when sampled). Should a runtime offer only linear
swapchain formats, linear output is still right: OpenXR runtimes read those as linear.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from viewer.model.scene import INSIGNIFICANT_GREY, NO_VALUE_GREY, diverging_colormap
from viewer.vr.culling import Tiles, make_tiles
from viewer.vr.gl import GL, glMultiDrawElements, glVertexAttribPointer
from viewer.vr.interaction import Aim
from viewer.vr.scene_data import VRScene
from viewer.vr.xform import projection_from_fov, rigid_inverse

NO_VALUE = 1e30           # stands for NaN in the change attribute (no value at this vertex)
INSIGNIFICANT = 3e30      # a value below the level of detection, when only real change shows
SKY = (176, 200, 224)     # sRGB bytes
GROUND = (104, 110, 98)
TABLE = (132, 120, 106)
FLOOR = (78, 80, 86)
MARKER = (255, 176, 32)
HAND = (205, 205, 210)
AIM_OK = (64, 210, 255)
AIM_BAD = (235, 64, 52)
MARKER_ANGLE = 0.012     # radians: markers keep this apparent size at any distance
LIGHT = np.array([0.35, -0.45, 0.82]) / np.linalg.norm([0.35, -0.45, 0.82])  # site frame

_SRGB_GLSL = """
vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}
"""

# Vertex shaders take one matrix per view and pick theirs with VIEW: the eye being drawn when
# eyes are drawn one at a time (VIEW 0, one matrix set per eye), or gl_ViewID_OVR when one
# draw writes both eyes' layers (GL_OVR_multiview2, both matrices set once).
_ONE_VIEW = """#version 330 core
#define VIEW 0
"""
_MULTIVIEW = """#version 330 core
#extension GL_OVR_multiview2 : require
layout(num_views = 2) in;
#define VIEW int(gl_ViewID_OVR)
"""

_MESH_VS = """
layout(location = 0) in vec3 a_pos;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec4 a_color;
layout(location = 3) in vec2 a_uv;
layout(location = 4) in float a_change;
uniform mat4 u_mvp[2];
out vec3 v_normal;
out vec4 v_color;
out vec2 v_uv;
out float v_change;
void main() {
    gl_Position = u_mvp[VIEW] * vec4(a_pos, 1.0);
    v_normal = a_normal;
    v_color = a_color;
    v_uv = a_uv;
    v_change = a_change;
}
"""

_MESH_FS = """#version 330 core
in vec3 v_normal;
in vec4 v_color;
in vec2 v_uv;
in float v_change;
uniform int u_color_mode;      // 0 vertex colours, 1 texture, 2 plain
uniform bool u_heatmap;
uniform float u_limit;         // change (m) at either end of the colour scale
uniform vec3 u_no_value;       // linear grey where there is no change value
uniform vec3 u_insignificant;  // linear light grey: below the level of detection
uniform sampler2D u_texture;   // unit 0, sRGB
uniform sampler2D u_colormap;  // unit 1, 256 x 1, sRGB: blue - white - red
uniform vec3 u_light;          // site frame
uniform bool u_lighting;
out vec4 o_color;
""" + _SRGB_GLSL + """
void main() {
    vec3 base;
    if (u_heatmap) {
        if (abs(v_change) > 2e30) {
            base = u_insignificant;
        } else if (abs(v_change) > 1e29) {
            base = u_no_value;
        } else {
            float t = clamp(v_change / u_limit, -1.0, 1.0) * 0.5 + 0.5;
            base = texture(u_colormap, vec2(t * (255.0 / 256.0) + 0.5 / 256.0, 0.5)).rgb;
        }
    } else if (u_color_mode == 1) {
        base = texture(u_texture, v_uv).rgb;
    } else if (u_color_mode == 0) {
        base = srgb_to_linear(v_color.rgb);
    } else {
        base = vec3(0.45);
    }
    float shade = 1.0;
    if (u_lighting) {   // double-sided: scans have no reliable winding
        shade = 0.6 + 0.4 * abs(dot(normalize(v_normal), u_light));
    }
    o_color = vec4(base * shade, 1.0);
}
"""

_FLAT_VS = """
layout(location = 0) in vec3 a_pos;
uniform mat4 u_mvp[2];
void main() { gl_Position = u_mvp[VIEW] * vec4(a_pos, 1.0); }
"""

_FLAT_FS = """#version 330 core
uniform vec4 u_color;   // linear, alpha for blending
out vec4 o_color;
void main() { o_color = u_color; }
"""

# Markers keep a fixed angular size: the offset grows with the distance to the eye.
_MARKER_VS = """
layout(location = 0) in vec3 a_center;
layout(location = 1) in vec3 a_offset;
uniform mat4 u_stage_from_site;
uniform mat4 u_view_proj[2];
uniform vec3 u_eye[2];
uniform float u_angular;
out float v_shade;
void main() {
    vec3 c = (u_stage_from_site * vec4(a_center, 1.0)).xyz;
    float s = distance(c, u_eye[VIEW]) * u_angular;
    gl_Position = u_view_proj[VIEW] * vec4(c + a_offset * s + vec3(0.0, 1.6 * s, 0.0), 1.0);
    v_shade = 0.7 + 0.3 * a_offset.y;
}
"""

_MARKER_FS = """#version 330 core
in float v_shade;
uniform vec3 u_color;
out vec4 o_color;
void main() { o_color = vec4(u_color * v_shade, 1.0); }
"""

_PANEL_VS = """
layout(location = 0) in vec2 a_pos;
uniform mat4 u_mvp[2];
out vec2 v_uv;
void main() {
    gl_Position = u_mvp[VIEW] * vec4(a_pos, 0.0, 1.0);
    v_uv = vec2(a_pos.x + 0.5, 0.5 - a_pos.y);
}
"""

_PANEL_FS = """#version 330 core
in vec2 v_uv;
uniform sampler2D u_texture;
out vec4 o_color;
void main() { o_color = texture(u_texture, v_uv); }
"""


def linear(rgb: tuple[int, int, int]) -> np.ndarray:
    """sRGB bytes -> linear floats."""
    c = np.asarray(rgb, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@dataclass
class EyeView:
    pose: np.ndarray                              # 4x4 stage-from-eye
    fov: tuple[float, float, float, float]        # left, right, up, down (radians)


@dataclass
class FrameView:
    """What both eyes of one frame show."""

    stage_from_site: np.ndarray
    epoch: int = 0
    heatmap: bool = False
    change: int = 0                 # which of the epoch's comparisons (EpochScene.changes)
    level: int = 0                  # which of the epoch's levels of detail (EpochScene.levels)
    significant_only: bool = False
    fade: float = 0.0
    miniature: bool = False
    floor_y: float = 0.0
    aim: Aim | None = None
    hands: list[np.ndarray] = field(default_factory=list)   # stage-from-controller
    panel: np.ndarray | None = None                          # stage-from-panel (metres)
    card: np.ndarray | None = None                           # stage-from-card: story text

    @property
    def near_far(self) -> tuple[float, float]:
        return (0.02, 200.0) if self.miniature else (0.05, 10000.0)


def _compile(vs: str, fs: str) -> int:
    prog = GL.glCreateProgram()
    for kind, src in ((GL.GL_VERTEX_SHADER, vs), (GL.GL_FRAGMENT_SHADER, fs)):
        sh = GL.glCreateShader(kind)
        GL.glShaderSource(sh, src)
        GL.glCompileShader(sh)
        if not GL.glGetShaderiv(sh, GL.GL_COMPILE_STATUS):
            raise RuntimeError(f"shader compile failed: {GL.glGetShaderInfoLog(sh).decode()}")
        GL.glAttachShader(prog, sh)
        GL.glDeleteShader(sh)
    GL.glLinkProgram(prog)
    if not GL.glGetProgramiv(prog, GL.GL_LINK_STATUS):
        raise RuntimeError(f"shader link failed: {GL.glGetProgramInfoLog(prog).decode()}")
    return prog


class _Program:
    def __init__(self, vs: str, fs: str):
        self.id = _compile(vs, fs)
        n = GL.glGetProgramiv(self.id, GL.GL_ACTIVE_UNIFORMS)
        self.loc: dict[str, int] = {}
        for i in range(n):
            name = GL.glGetActiveUniform(self.id, i)[0]
            name = name.decode() if isinstance(name, bytes) else str(name)
            name = name.removesuffix("[0]")     # an array: its first element's location
            self.loc[name] = GL.glGetUniformLocation(self.id, name)

    def __getitem__(self, name: str) -> int:
        return self.loc.get(name, -1)


def _buffer(target: int, data: np.ndarray) -> int:
    buf = GL.glGenBuffers(1)
    GL.glBindBuffer(target, buf)
    GL.glBufferData(target, data.nbytes, np.ascontiguousarray(data), GL.GL_STATIC_DRAW)
    return int(buf)


def _attribute(loc: int, data: np.ndarray, size: int, gl_type: int,
               normalized: bool = False) -> int:
    buf = _buffer(GL.GL_ARRAY_BUFFER, data)
    GL.glEnableVertexAttribArray(loc)
    glVertexAttribPointer(loc, size, gl_type, GL.GL_TRUE if normalized else GL.GL_FALSE, 0,
                             ctypes.c_void_p(0))
    return buf


def _texture(image: np.ndarray, srgb: bool = True, mipmaps: bool = True) -> int:
    img = np.ascontiguousarray(image, np.uint8)
    h, w = img.shape[:2]
    channels = img.shape[2] if img.ndim == 3 else 1
    fmt = {3: GL.GL_RGB, 4: GL.GL_RGBA}[channels]
    internal = {(3, True): GL.GL_SRGB8, (4, True): GL.GL_SRGB8_ALPHA8,
                (3, False): GL.GL_RGB8, (4, False): GL.GL_RGBA8}[(channels, srgb)]
    tex = GL.glGenTextures(1)
    GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
    GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
    GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, internal, w, h, 0, fmt, GL.GL_UNSIGNED_BYTE, img)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER,
                       GL.GL_LINEAR_MIPMAP_LINEAR if mipmaps else GL.GL_LINEAR)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
    if mipmaps:
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
    return int(tex)


@dataclass
class _GPUMesh:
    vao: int
    buffers: list[int]
    count: int                 # indices
    texture: int = 0
    color_mode: int = 2
    has_change: bool = False
    limit: float = 1.0
    change_vbo: int = 0
    shown: tuple[int, bool] = (0, False)    # (pair index, significant only) in change_vbo
    tiles: Tiles | None = None              # the index buffer's runs by tile, for culling


def _octahedron() -> np.ndarray:
    p = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
                 np.float32)
    tris = [(0, 2, 4), (4, 2, 1), (1, 2, 5), (5, 2, 0), (0, 4, 3), (4, 1, 3), (1, 5, 3),
            (5, 0, 3)]
    v = p[np.array(tris).ravel()]
    v[:, 1] *= 1.6                                  # a tall diamond reads as a pin
    return v


def _box(sx: float, sy: float, sz: float) -> np.ndarray:
    c = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32)
    c *= np.array([sx / 2, sy / 2, sz / 2], np.float32)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return c[np.array([(a, b, cc, a, cc, d) for a, b, cc, d in quads]).ravel()]


def _disc(segments: int = 64) -> np.ndarray:
    """Unit disc in the x/y plane as triangles (site frame: horizontal)."""
    a = np.linspace(0, 2 * math.pi, segments + 1)
    rim = np.c_[np.cos(a), np.sin(a), np.zeros_like(a)].astype(np.float32)
    centre = np.zeros((segments, 3), np.float32)
    return np.stack([centre, rim[:-1], rim[1:]], axis=1).reshape(-1, 3)


def change_attribute(change, significant_only: bool) -> np.ndarray:
    """The per-vertex float the shader reads: metres, or a code for no value / not significant."""
    values = np.where(np.isfinite(change.values), change.values, NO_VALUE).astype(np.float32)
    if significant_only:
        values[np.isfinite(change.values) & ~change.is_significant()] = INSIGNIFICANT
    return values


class Renderer:
    """Draws a `VRScene`; create it with the GL context current (uploads everything).

    `views`: 1 draws one eye per `draw` call (any framebuffer); 2 draws both eyes in one
    call into a multiview framebuffer (`multiview.LayeredTarget`; needs GL_OVR_multiview2).
    `cull`: leave out the tiles of the site's mesh that no eye sees (`culling`)."""

    MAX_AIM_VERTICES = 256

    def __init__(self, scene: VRScene, lighting: bool = True, views: int = 1,
                 cull: bool = True):
        if views not in (1, 2):
            raise ValueError(f"views must be 1 or 2, not {views}")
        self.scene = scene
        self.lighting = lighting
        self.views = views
        self.cull = cull
        self.drawn_faces = 0          # the site's triangles in the last draw (after culling)
        head = _MULTIVIEW if views == 2 else _ONE_VIEW
        self.mesh_prog = _Program(head + _MESH_VS, _MESH_FS)
        self.flat_prog = _Program(head + _FLAT_VS, _FLAT_FS)
        self.marker_prog = _Program(head + _MARKER_VS, _MARKER_FS)
        self.panel_prog = _Program(head + _PANEL_VS, _PANEL_FS)
        GL.glUseProgram(self.mesh_prog.id)
        GL.glUniform1i(self.mesh_prog["u_texture"], 0)
        GL.glUniform1i(self.mesh_prog["u_colormap"], 1)
        GL.glUniform3f(self.mesh_prog["u_no_value"], *linear(tuple(NO_VALUE_GREY)))
        GL.glUniform3f(self.mesh_prog["u_insignificant"], *linear(tuple(INSIGNIFICANT_GREY)))
        GL.glUniform3f(self.mesh_prog["u_light"], *LIGHT)
        GL.glUniform1i(self.mesh_prog["u_lighting"], 1 if lighting else 0)
        GL.glUseProgram(0)
        self.colormap = _texture(diverging_colormap(256)[None], mipmaps=False)

        # every epoch's levels of detail (finest first), uploaded once
        self.meshes = [[self._upload_mesh(level) for level in e.levels] for e in scene.epochs]
        self.markers = [self._upload_markers(e.id) for e in scene.epochs]
        lo, hi = scene.bounds
        self.centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2] - 0.02])
        self.extent = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0))
        self.disc = self._static(_disc())
        self.box = self._static(_box(0.035, 0.035, 0.12))
        self.quad = self._static(np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, -0.5],
                                           [0.5, 0.5], [-0.5, 0.5]], np.float32), size=2)
        self.fullscreen = self._static(np.array([[-1, -1, 0], [3, -1, 0], [-1, 3, 0]],
                                                np.float32))
        self.aim_vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(self.aim_vao)
        self.aim_vbo = GL.glGenBuffers(1)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.aim_vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, self.MAX_AIM_VERTICES * 12, None, GL.GL_DYNAMIC_DRAW)
        GL.glEnableVertexAttribArray(0)
        glVertexAttribPointer(0, 3, GL.GL_FLOAT, GL.GL_FALSE, 0, ctypes.c_void_p(0))
        GL.glBindVertexArray(0)
        self.panels: dict[str, tuple[int, float]] = {}   # name -> (texture, width/height)
        self._aim_counts = (0, 0)
        self._aim_key: object = None
        self._colors = {name: linear(c) for name, c in (
            ("sky", SKY), ("ground", GROUND), ("table", TABLE), ("floor", FLOOR),
            ("marker", MARKER), ("hand", HAND), ("ok", AIM_OK), ("bad", AIM_BAD))}

    # ----------------------------------------------------------------- upload (once)

    def _static(self, vertices: np.ndarray, size: int = 3) -> tuple[int, list[int], int]:
        vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(vao)
        buf = _attribute(0, vertices.astype(np.float32), size, GL.GL_FLOAT)
        GL.glBindVertexArray(0)
        return int(vao), [buf], len(vertices)

    def _upload_mesh(self, epoch) -> _GPUMesh:
        m = epoch.mesh
        vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(vao)
        bufs = [_attribute(0, np.asarray(m.vertices, np.float32), 3, GL.GL_FLOAT),
                _attribute(1, np.asarray(m.normals, np.float32), 3, GL.GL_FLOAT)]
        gm = _GPUMesh(int(vao), bufs, int(m.faces.size))
        if m.texture is not None and m.uv is not None:
            bufs.append(_attribute(3, np.asarray(m.uv, np.float32), 2, GL.GL_FLOAT))
            gm.texture, gm.color_mode = _texture(m.texture), 1
        elif m.vertex_colors is not None:
            bufs.append(_attribute(2, np.asarray(m.vertex_colors, np.uint8), 4,
                                   GL.GL_UNSIGNED_BYTE, normalized=True))
            gm.color_mode = 0
        if epoch.changes:
            gm.change_vbo = _attribute(4, change_attribute(epoch.changes[0], False), 1,
                                       GL.GL_FLOAT)
            bufs.append(gm.change_vbo)
            gm.has_change, gm.limit = True, float(epoch.changes[0].limit)
        faces = np.asarray(m.faces, np.uint32)
        if self.cull:      # each tile's triangles together, so a tile is one run to draw
            gm.tiles = make_tiles(m.vertices, faces)
            faces = faces[gm.tiles.order]
        bufs.append(_buffer(GL.GL_ELEMENT_ARRAY_BUFFER, faces))
        GL.glBindVertexArray(0)
        return gm

    def _upload_markers(self, epoch: str) -> tuple[int, list[int], int] | None:
        shown = [mk for mk in self.scene.markers if mk.applies_to(epoch)]
        if not shown:
            return None
        shape = _octahedron()
        centres = np.repeat(np.array([mk.position for mk in shown], np.float32), len(shape),
                            axis=0)
        offsets = np.tile(shape, (len(shown), 1))
        vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(vao)
        a = _attribute(0, centres, 3, GL.GL_FLOAT)
        b = _attribute(1, offsets, 3, GL.GL_FLOAT)
        GL.glBindVertexArray(0)
        return int(vao), [a, b], len(centres)

    def set_panel(self, rgba: np.ndarray, name: str = "hand") -> None:
        """New image (H, W, 4 sRGB bytes) for the hand panel ("hand") or the text card
        ("card"); uploaded only when its text changes."""
        old = self.panels.pop(name, None)
        if old is not None:
            GL.glDeleteTextures([old[0]])
        self.panels[name] = (_texture(rgba), rgba.shape[1] / rgba.shape[0])

    def panel_aspect(self, name: str = "hand") -> float:
        return self.panels[name][1] if name in self.panels else 1.6

    # ----------------------------------------------------------------- per frame

    def set_aim(self, aim: Aim | None, miniature: bool) -> None:
        """Upload the teleport pointer (a ribbon and a target ring), once per frame at most."""
        if aim is None:
            self._aim_counts, self._aim_key = (0, 0), None
            return
        if aim is self._aim_key:
            return
        self._aim_key = aim
        pts = np.asarray(aim.points, np.float64)[: self.MAX_AIM_VERTICES // 2 - 40]
        width = 0.004 if miniature else 0.012
        tangent = np.gradient(pts, axis=0) if len(pts) > 1 else np.array([[0.0, 0.0, -1.0]])
        side = np.cross(tangent, [0.0, 1.0, 0.0])
        side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-9)
        ribbon = np.empty((2 * len(pts), 3))
        ribbon[0::2] = pts - side * width
        ribbon[1::2] = pts + side * width
        ring = np.empty((0, 3))
        if aim.target is not None:
            r0, r1 = (0.012, 0.018) if miniature else (0.22, 0.3)
            a = np.linspace(0, 2 * math.pi, 33)
            circle = np.c_[np.cos(a), np.zeros_like(a), np.sin(a)]
            ring = np.empty((66, 3))
            ring[0::2] = aim.target + circle * r0 + [0.0, 0.01 * r1, 0.0]
            ring[1::2] = aim.target + circle * r1 + [0.0, 0.01 * r1, 0.0]
        data = np.vstack([ribbon, ring]).astype(np.float32)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.aim_vbo)
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, data.nbytes, data)
        self._aim_counts = (len(ribbon), len(ring))

    def _show_change(self, epoch: int, level: int, gm: _GPUMesh, index: int,
                     significant_only: bool) -> None:
        """Put the chosen comparison (`index` into the finest level's list) into the mesh's
        change attribute — only when it differs from what is there: a switch costs one buffer
        upload, not one per frame."""
        e = self.scene.epochs[epoch]
        chosen = e.changes[min(max(index, 0), len(e.changes) - 1)]
        changes = e.levels[level].changes
        i = next((j for j, c in enumerate(changes) if c.a == chosen.a), 0)
        if gm.shown == (i, significant_only):
            return
        data = change_attribute(changes[i], significant_only)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, gm.change_vbo)
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, data.nbytes, data)
        # the finest level's scale for all: no colour jump when the level changes
        gm.shown, gm.limit = (i, significant_only), float(chosen.limit)

    def draw(self, framebuffer: int, width: int, height: int,
             eye: EyeView | Sequence[EyeView], frame: FrameView) -> None:
        """Draw into `framebuffer` (colour + depth attached): one eye, or with `views=2` both
        eyes (left, right) into the two layers of a multiview framebuffer."""
        eyes = [eye] if isinstance(eye, EyeView) else list(eye)
        if len(eyes) != self.views:
            raise ValueError(f"this renderer draws {self.views} view(s) per call, "
                             f"not {len(eyes)}")
        near, far = frame.near_far
        view_proj = [projection_from_fov(*e.fov, near, far) @ rigid_inverse(e.pose)
                     for e in eyes]
        stage_from_site = frame.stage_from_site

        def mvp(loc: int, model: np.ndarray | None = None) -> None:
            """Each view's model-view-projection matrix, into the array uniform at `loc`."""
            m = np.stack([vp if model is None else vp @ model for vp in view_proj])
            GL.glUniformMatrix4fv(loc, len(m), GL.GL_TRUE, m.astype(np.float32))

        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glViewport(0, 0, width, height)
        GL.glEnable(GL.GL_FRAMEBUFFER_SRGB)   # no effect on linear formats, as it should
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_CULL_FACE)
        sky = self._colors["sky"]
        GL.glClearColor(sky[0], sky[1], sky[2], 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)   # every view's layer

        gm = self.meshes[frame.epoch][frame.level]
        p = self.mesh_prog
        GL.glUseProgram(p.id)
        mvp(p["u_mvp"], stage_from_site)
        heat = frame.heatmap and gm.has_change
        if heat:
            self._show_change(frame.epoch, frame.level, gm, frame.change,
                              frame.significant_only)
        GL.glUniform1i(p["u_heatmap"], 1 if heat else 0)
        GL.glUniform1i(p["u_color_mode"], gm.color_mode)
        if heat:
            GL.glUniform1f(p["u_limit"], gm.limit)
            GL.glActiveTexture(GL.GL_TEXTURE1)
            GL.glBindTexture(GL.GL_TEXTURE_2D, self.colormap)
        if gm.texture:
            GL.glActiveTexture(GL.GL_TEXTURE0)
            GL.glBindTexture(GL.GL_TEXTURE_2D, gm.texture)
        GL.glBindVertexArray(gm.vao)
        self._draw_mesh(gm, [vp @ stage_from_site for vp in view_proj])

        # ground (life size: a wide plain under the site) or table (miniature)
        f = self.flat_prog
        GL.glUseProgram(f.id)
        radius = self.extent * 0.75 if frame.miniature else 5000.0
        disc = np.diag([radius, radius, 1.0, 1.0])
        disc[:3, 3] = self.centre
        mvp(f["u_mvp"], stage_from_site @ disc)
        self._flat(self.disc, self._colors["table" if frame.miniature else "ground"])
        if frame.miniature:   # the room's floor, so the table stands on something
            floor = np.array([[4.0, 0, 0, 0], [0, 0, 4.0, frame.floor_y], [0, -4.0, 0, 0],
                              [0, 0, 0, 1.0]])
            mvp(f["u_mvp"], floor)
            self._flat(self.disc, self._colors["floor"])
        for hand in frame.hands:
            mvp(f["u_mvp"], hand)
            self._flat(self.box, self._colors["hand"])
        ribbon, ring = self._aim_counts
        if ribbon:
            color = self._colors["ok" if frame.aim is not None and frame.aim.valid else "bad"]
            mvp(f["u_mvp"])
            GL.glUniform4f(f["u_color"], color[0], color[1], color[2], 1.0)
            GL.glBindVertexArray(self.aim_vao)
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, ribbon)
            if ring:
                GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, ribbon, ring)

        markers = self.markers[frame.epoch]
        if markers is not None:
            mp = self.marker_prog
            GL.glUseProgram(mp.id)
            GL.glUniformMatrix4fv(mp["u_stage_from_site"], 1, GL.GL_TRUE,
                                  stage_from_site.astype(np.float32))
            mvp(mp["u_view_proj"])
            GL.glUniform3fv(mp["u_eye"], len(eyes),
                            np.array([e.pose[:3, 3] for e in eyes], np.float32))
            GL.glUniform1f(mp["u_angular"], MARKER_ANGLE)
            GL.glUniform3f(mp["u_color"], *self._colors["marker"])
            GL.glBindVertexArray(markers[0])
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, markers[2])

        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        for name, where in (("card", frame.card), ("hand", frame.panel)):
            if where is None or name not in self.panels:
                continue
            pp = self.panel_prog
            GL.glUseProgram(pp.id)
            mvp(pp["u_mvp"], where)
            GL.glActiveTexture(GL.GL_TEXTURE0)
            GL.glBindTexture(GL.GL_TEXTURE_2D, self.panels[name][0])
            GL.glBindVertexArray(self.quad[0])
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 6)
        if frame.fade > 0.0:
            GL.glDisable(GL.GL_DEPTH_TEST)
            GL.glUseProgram(f.id)
            clip = np.tile(np.eye(4, dtype=np.float32), (len(eyes), 1, 1))
            GL.glUniformMatrix4fv(f["u_mvp"], len(eyes), GL.GL_TRUE, clip)
            GL.glUniform4f(f["u_color"], 0.0, 0.0, 0.0, min(frame.fade, 1.0))
            GL.glBindVertexArray(self.fullscreen[0])
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)

    def _draw_mesh(self, gm: _GPUMesh, mvps: list[np.ndarray]) -> None:
        """The mesh's triangles that any eye may see: every tile whose box meets a view, as
        one draw call (consecutive tiles are one run of the index buffer)."""
        if gm.tiles is None:
            first, count = np.zeros(1, np.int64), np.array([gm.count // 3])
        else:
            first, count = gm.tiles.runs(gm.tiles.visible(mvps))
        self.drawn_faces = int(count.sum())
        if len(first) == 1:
            GL.glDrawElements(GL.GL_TRIANGLES, int(count[0]) * 3, GL.GL_UNSIGNED_INT,
                              ctypes.c_void_p(int(first[0]) * 12))
        elif len(first) > 1:
            counts = (ctypes.c_int * len(first))(*(int(c) * 3 for c in count))
            offsets = (ctypes.c_void_p * len(first))(*(int(f) * 12 for f in first))
            glMultiDrawElements(GL.GL_TRIANGLES, counts, GL.GL_UNSIGNED_INT, offsets,
                                len(first))

    def _flat(self, geometry: tuple[int, list[int], int], color: np.ndarray) -> None:
        """One object in one colour; its matrices are set already."""
        GL.glUniform4f(self.flat_prog["u_color"], color[0], color[1], color[2], 1.0)
        GL.glBindVertexArray(geometry[0])
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, geometry[2])

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def read_pixels(framebuffer: int, width: int, height: int) -> np.ndarray:
        """(H, W, 4) uint8 as stored (sRGB-encoded), first row at the top."""
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, framebuffer)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        data = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        return np.frombuffer(data, np.uint8).reshape(height, width, 4)[::-1].copy()

    def destroy(self) -> None:
        buffers: list[int] = [self.aim_vbo]
        vaos = [self.aim_vao]
        for gm in (g for levels in self.meshes for g in levels):
            buffers += gm.buffers
            vaos.append(gm.vao)
            if gm.texture:
                GL.glDeleteTextures([gm.texture])
        for geometry in (self.disc, self.box, self.quad, self.fullscreen,
                         *(m for m in self.markers if m)):
            vaos.append(geometry[0])
            buffers += geometry[1]
        GL.glDeleteBuffers(len(buffers), buffers)
        GL.glDeleteVertexArrays(len(vaos), vaos)
        GL.glDeleteTextures([self.colormap] + [tex for tex, _ in self.panels.values()])
        for prog in (self.mesh_prog, self.flat_prog, self.marker_prog, self.panel_prog):
            GL.glDeleteProgram(prog.id)


class OffscreenTarget:
    """A framebuffer with an sRGB colour texture and a depth buffer (tests, benchmark,
    screenshots re-rendered after a session ended)."""

    def __init__(self, width: int, height: int, srgb: bool = True):
        self.width, self.height = width, height
        self.color = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.color)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_SRGB8_ALPHA8 if srgb else GL.GL_RGBA8,
                        width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        self.depth = GL.glGenRenderbuffers(1)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.depth)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, width, height)
        self.fbo = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D,
                                  self.color, 0)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT,
                                     GL.GL_RENDERBUFFER, self.depth)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"offscreen framebuffer incomplete (0x{status:x})")

    def read(self) -> np.ndarray:
        return Renderer.read_pixels(self.fbo, self.width, self.height)

    def destroy(self) -> None:
        GL.glDeleteFramebuffers(1, [self.fbo])
        GL.glDeleteRenderbuffers(1, [self.depth])
        GL.glDeleteTextures([self.color])


def blit_eye(source: int, framebuffer: int, width: int, height: int, depth_bits: int) -> None:
    """Copy an eye's frame from framebuffer `source` into `framebuffer` (a swapchain image),
    resolving samples; its depth too when `depth_bits` (GL_DEPTH_BUFFER_BIT, with stencil) is
    given."""
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, source)
    GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, framebuffer)
    w, h = width, height
    GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
    if depth_bits:
        GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, depth_bits, GL.GL_NEAREST)
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)


class MultisampleTarget:
    """Where an eye is drawn with MSAA: multisampled colour and depth renderbuffers, resolved
    into the swapchain's framebuffer after drawing (works on every runtime: the swapchain
    images themselves stay single-sampled)."""

    def __init__(self, width: int, height: int, samples: int,
                 depth_format: int = GL.GL_DEPTH_COMPONENT24):
        self.width, self.height = width, height
        self.samples = max(1, min(int(samples), int(GL.glGetIntegerv(GL.GL_MAX_SAMPLES))))
        self.color, self.depth = (int(b) for b in GL.glGenRenderbuffers(2))
        for buf, fmt in ((self.color, GL.GL_SRGB8_ALPHA8), (self.depth, depth_format)):
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buf)
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, self.samples, fmt,
                                                width, height)
        self.depth_bits = (GL.GL_DEPTH_BUFFER_BIT if depth_format != GL.GL_DEPTH24_STENCIL8
                           else GL.GL_DEPTH_BUFFER_BIT | GL.GL_STENCIL_BUFFER_BIT)
        attach = GL.GL_DEPTH_STENCIL_ATTACHMENT if depth_format == GL.GL_DEPTH24_STENCIL8 \
            else GL.GL_DEPTH_ATTACHMENT
        self.fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                     GL.GL_RENDERBUFFER, self.color)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, attach, GL.GL_RENDERBUFFER, self.depth)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"multisample framebuffer incomplete (0x{status:x})")

    def resolve(self, framebuffer: int, with_depth: bool = True) -> None:
        """Average the samples into `framebuffer` (the swapchain image), depth too when the
        runtime is given a depth layer."""
        blit_eye(self.fbo, framebuffer, self.width, self.height,
                 self.depth_bits if with_depth else 0)

    def destroy(self) -> None:
        GL.glDeleteFramebuffers(1, [self.fbo])
        GL.glDeleteRenderbuffers(2, [self.color, self.depth])
