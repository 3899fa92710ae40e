"""Small pictures of a mesh for the site list, drawn with numpy alone (no GL, no Qt).

The site list's thumbnails used to be VTK off-screen renders on the UI thread (250-430 ms per
site on llvmpipe, a visible freeze while a site list opened). A 112x84 picture needs no GPU:
each triangle is sampled on a barycentric grid fine enough for its projected size, the samples
are shaded (Lambert, light from behind the viewer's shoulder) and written nearest-last into the
image (a z-buffer by sorting). This runs in the loader's worker thread.
"""

from __future__ import annotations

import math

import numpy as np

from viewer.model.scene import MeshData
from viewer.model.state import Camera

BACKGROUND = ((0x1F, 0x23, 0x27), (0x6B, 0x7F, 0x93))   # bottom, top: as the 3D view
PLAIN = np.array([0xD8, 0xD2, 0xC4], np.float32)        # a mesh without colours
MAX_SUBDIVISION = 24


def _grid(n: int) -> np.ndarray:
    """Barycentric weights of a triangular grid with n steps per edge, (k, 3)."""
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = i + j <= n
    a, b = i[keep] / n, j[keep] / n
    return np.stack([1 - a - b, a, b], axis=1).astype(np.float32)


def _vertex_colours(mesh: MeshData) -> np.ndarray | None:
    if mesh.colors is not None:
        return mesh.colors[:, :3].astype(np.float32)
    if mesh.texture is not None and mesh.uv is not None:
        tex = mesh.texture
        h, w = tex.shape[:2]
        u = np.clip(mesh.uv[:, 0], 0, 1) * (w - 1)
        v = (1 - np.clip(mesh.uv[:, 1], 0, 1)) * (h - 1)      # uv has v up, rows go down
        return tex[v.astype(np.int64), u.astype(np.int64), :3].astype(np.float32)
    return None


def render_thumbnail(mesh: MeshData, size: tuple[int, int] = (112, 84),
                     camera: Camera | None = None) -> np.ndarray:
    """An (H, W, 3) uint8 picture of `mesh` from `camera` (default: the fitted overview)."""
    w, h = size
    cam = camera or Camera.fit(mesh.bounds)
    eye = np.asarray(cam.position, np.float64)
    fwd = np.asarray(cam.focal_point, np.float64) - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, cam.view_up)
    right /= max(np.linalg.norm(right), 1e-12)
    up = np.cross(right, fwd)
    t = math.tan(math.radians(cam.view_angle) / 2)     # vertical half-angle, as VTK

    top, bottom = np.array(BACKGROUND[1], np.float32), np.array(BACKGROUND[0], np.float32)
    rows = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(top * (1 - rows) + bottom * rows, (h, w, 3)).copy()
    if mesh.n_faces == 0:
        return image.astype(np.uint8)

    v = mesh.vertices.astype(np.float64) - eye
    cam_xyz = np.stack([v @ right, v @ up, v @ fwd], axis=1)
    depth = cam_xyz[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        px = (cam_xyz[:, 0] / (depth * t) * (h / 2) + w / 2)
        py = (h / 2 - cam_xyz[:, 1] / (depth * t) * (h / 2))
    f = mesh.faces.astype(np.int64)
    front = (depth[f] > 1e-6).all(axis=1)
    f = f[front]
    corners = mesh.vertices.astype(np.float64)[f]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.linalg.norm(normals, axis=1)[:, None] + 1e-12
    light = -fwd + 0.5 * up - 0.3 * right
    light /= np.linalg.norm(light)
    shade = (0.35 + 0.65 * np.abs(normals @ light)).astype(np.float32)
    colours = _vertex_colours(mesh)

    # samples per edge: enough that neighbouring samples land at most ~1 pixel apart
    edge_px = np.max(np.hypot(px[f] - px[np.roll(f, 1, axis=1)],
                              py[f] - py[np.roll(f, 1, axis=1)]), axis=1)
    steps = np.clip(np.ceil(edge_px), 1, MAX_SUBDIVISION).astype(np.int64)
    xs, ys, zs, cs = [], [], [], []
    for n in np.unique(steps):
        sel = np.flatnonzero(steps == n)
        bary = _grid(int(n))                                        # (k, 3)
        fi = f[sel]
        sx = (px[fi] @ bary.T).ravel()
        sy = (py[fi] @ bary.T).ravel()
        sz = (depth[fi] @ bary.T).ravel()
        if colours is not None:
            col = np.einsum("fvc,kv->fkc", colours[fi], bary).reshape(-1, 3)
        else:
            col = np.broadcast_to(PLAIN, (len(sx), 3))
        col = col * np.repeat(shade[sel], len(bary))[:, None]
        xs.append(sx)
        ys.append(sy)
        zs.append(sz)
        cs.append(col)
    x = np.concatenate(xs).astype(np.int64)
    y = np.concatenate(ys).astype(np.int64)
    z = np.concatenate(zs)
    c = np.concatenate(cs)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    order = np.argsort(-z[inside], kind="stable")                  # far first, near last
    image[y[inside][order], x[inside][order]] = c[inside][order]
    return np.clip(image, 0, 255).astype(np.uint8)
