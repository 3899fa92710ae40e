"""A photogrammetry-style textured mesh of the demo scene: OBJ + MTL + JPEG.

What a photogrammetry delivery looks like: one welded surface of what cameras saw (the ground
under buildings and the heap is gone), a few centimetres of noise on every vertex, a texture
atlas of charts, and coordinates in the projected CRS as text.  Charts: the terrain (with the
road and the heap) is projected from above; every other object gets a top, a bottom and a side
chart (the side unrolled around the object's vertical axis).  The charts are shelf-packed into
one square atlas, and each texel is painted by a procedural material of what lies there (steel
plates and ribs on the Gasometer, windows on the house, foliage, asphalt, grass, soil).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from processing.demo.scene import (
    GASOMETER_EAVE,
    GASOMETER_RADIUS,
    GASOMETER_SIDES,
    ROAD_Y,
    Feature,
    Label,
    Site,
    TriMesh,
    points_in_polygon,
)
from processing.privacy import samples as privacy_samples

TOP, SIDE, BOTTOM = 0, 1, 2
PAD = 4                                    # texels of bleed around each chart
POSTER_BAND = 4                            # the poster takes 1/4 of the atlas' rows (4:1)
POSTER_WIDTH_M = 8.0


@dataclass(frozen=True)
class TexturedMesh:
    """Vertices (site frame), faces, per-corner UVs (OBJ convention: v up) and the atlas."""

    vertices: np.ndarray                   # (N, 3) float64
    faces: np.ndarray                      # (M, 3) int64
    uv: np.ndarray                         # (M, 3, 2) float64 in [0, 1]
    texture: np.ndarray                    # (H, W, 3) uint8
    labels: np.ndarray                     # (M,) uint8


# ---------------------------------------------------------------------------------------------
# procedural noise (hash-based value noise; deterministic across platforms)


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    h = (ix.astype(np.int64).astype(np.uint32) * np.uint32(0x8DA6B343)) ^ \
        (iy.astype(np.int64).astype(np.uint32) * np.uint32(0xD8163841)) ^ \
        np.uint32((seed * 0x9E3779B1) & 0xFFFFFFFF)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0x5BD1E995)
    h ^= h >> np.uint32(15)
    return h.astype(np.float64) / 2.0 ** 32


def _value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    iu, iv = np.floor(u), np.floor(v)
    fu, fv = u - iu, v - iv
    fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    a, b = _hash01(iu, iv, seed), _hash01(iu + 1, iv, seed)
    c, d = _hash01(iu, iv + 1, seed), _hash01(iu + 1, iv + 1, seed)
    return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv


def _fbm(u: np.ndarray, v: np.ndarray, seed: int, octaves: int = 3) -> np.ndarray:
    out = np.zeros_like(u)
    for k in range(octaves):
        out += 0.5 ** (k + 1) * _value_noise(u * 2 ** k, v * 2 ** k, seed + k)
    return out / (1 - 0.5 ** octaves)


def _mix(a, b, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t)[..., None]
    return np.asarray(a, np.float64) * (1 - t) + np.asarray(b, np.float64) * t


def _where(mask: np.ndarray, colour, base: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None], colour, base)


# ---------------------------------------------------------------------------------------------
# materials: (u, v) in chart metres -> RGB 0..255


def _terrain(x: np.ndarray, y: np.ndarray, site: Site, epoch: str, seed: int) -> np.ndarray:
    n = _fbm(x / 9.0, y / 9.0, seed)
    col = _mix((66, 100, 42), (122, 150, 72), n)                      # grass
    col *= (0.9 + 0.2 * _value_noise(x / 1.3, y / 1.3, seed + 7))[..., None]
    r = np.hypot(x, y)
    paving = (r > GASOMETER_RADIUS) & (r < 52.0)
    tone = 160 + 30 * _hash01(np.floor(x / 1.2), np.floor(y / 0.6), seed + 3)
    col = _where(paving, np.stack([tone, tone * 0.97, tone * 0.92], -1), col)
    road = (y > ROAD_Y[0]) & (y < ROAD_Y[1])
    asphalt = 70 + 14 * _value_noise(x / 0.8, y / 0.8, seed + 11)
    col = _where(road, np.stack([asphalt, asphalt, asphalt * 1.04], -1), col)
    mid = 0.5 * (ROAD_Y[0] + ROAD_Y[1])
    dash = road & (np.abs(y - mid) < 0.2) & ((x % 6.0) < 3.0)
    edge = road & (np.minimum(y - ROAD_Y[0], ROAD_Y[1] - y) < 0.45) \
        & (np.minimum(y - ROAD_Y[0], ROAD_Y[1] - y) > 0.15)
    col = _where(dash | edge, (225, 225, 220), col)
    xy = np.column_stack([x.ravel(), y.ravel()])
    for f in site.features:
        if f.label == Label.EARTHWORK and epoch in f.epochs:
            inside = points_in_polygon(xy, f.footprint).reshape(x.shape)
            soil = _mix((104, 78, 52), (150, 116, 80), _fbm(x / 2.0, y / 2.0, seed + 5))
            col = _where(inside, soil, col)
        elif f.hides_ground and epoch not in f.epochs and epoch > f.epochs[-1]:
            # the ground where a building stood: demolition gravel
            inside = points_in_polygon(xy, f.footprint).reshape(x.shape)
            g = 135 + 35 * _value_noise(x / 0.5, y / 0.5, seed + 9)
            col = _where(inside, np.stack([g, g * 0.96, g * 0.9], -1), col)
    return col


def _gasometer_side(theta: np.ndarray, z: np.ndarray, seed: int) -> np.ndarray:
    arc = theta * GASOMETER_RADIUS
    plate = _hash01(np.floor(arc / 2.4), np.floor(z / 2.0), seed)
    col = _mix((104, 114, 124), (124, 132, 140), plate)
    streak = _fbm(arc / 0.7, z / 25.0, seed + 1)
    col *= (0.88 + 0.2 * streak)[..., None]
    col = _where((z % 2.0) < 0.08, col * 0.75, col)                  # plate seams
    step = 2 * np.pi / GASOMETER_SIDES
    d_corner = np.abs((theta - np.radians(7.5) + step / 2) % step - step / 2) * GASOMETER_RADIUS
    col = _where(d_corner < 0.9, col * 0.82, col)                     # ribs
    band = (z > GASOMETER_EAVE - 8.5) & (z < GASOMETER_EAVE - 5.5)
    glass = _where((arc % 1.5) < 0.12, (150, 150, 150), np.broadcast_to(
        np.array([38.0, 52.0, 66.0]), col.shape))
    col = _where(band, glass, col)                                    # gallery windows
    col = _where(z < 2.5, col * (0.7 + 0.12 * z)[..., None], col)     # splash dirt
    return col


def _roof(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    col = _mix((78, 80, 84), (98, 100, 104), _fbm(x / 3.0, y / 3.0, seed))
    ang = np.arctan2(y, x)
    step = 2 * np.pi / GASOMETER_SIDES
    seam = (np.abs((ang + step / 2) % step - step / 2) * np.hypot(x, y)) < 0.15
    col = _where(seam, col * 0.7, col)
    return _where(np.hypot(x, y) < 8.0, (160, 158, 152), col)         # viewing platform


def _tower(arc: np.ndarray, z: np.ndarray, seed: int) -> np.ndarray:
    col = _mix((82, 88, 96), (100, 106, 112), _fbm(arc / 2.0, z / 6.0, seed))
    landing = (z % 3.25) < 0.3
    diagonal = ((arc + z * 1.8) % 3.6) < 0.25
    return _where(landing | diagonal, col * 0.65, col)


def _house(arc: np.ndarray, z: np.ndarray, z0: float, seed: int) -> np.ndarray:
    col = _mix((196, 180, 154), (214, 200, 176), _fbm(arc / 3.0, z / 3.0, seed))
    h = z - z0
    window = ((arc % 2.8) > 0.8) & ((arc % 2.8) < 2.0) & ((h % 3.0) > 0.9) & ((h % 3.0) < 2.3)
    col = _where(window & (h > 0.5) & (h < 6.5), (52, 62, 76), col)
    return _where(h < 0.5, (120, 118, 112), col)                     # plinth


def _tiles(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    col = _mix((136, 56, 40), (166, 72, 50), _hash01(np.floor(x / 0.3), np.floor(y / 0.4), seed))
    return _where(((x + y) % 0.4) < 0.05, col * 0.7, col)


def _glass(arc: np.ndarray, z: np.ndarray, z0: float, seed: int) -> np.ndarray:
    col = _mix((62, 88, 108), (96, 124, 142), _fbm(arc / 4.0, z / 2.0, seed))
    mullion = ((arc % 1.5) < 0.1) | (np.abs(z - z0 - 2.8) < 0.08) | (z - z0 < 0.3)
    return _where(mullion, (176, 178, 182), col)


def _gravel(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    g = 150 + 25 * _value_noise(x / 0.4, y / 0.4, seed) - 20 * _fbm(x / 5.0, y / 5.0, seed + 1)
    return np.stack([g, g * 0.98, g * 0.94], -1)


def _foliage(u: np.ndarray, v: np.ndarray, seed: int, dark: float = 1.0) -> np.ndarray:
    n = _fbm(u / 0.6, v / 0.6, seed)
    return _mix((34, 66, 26), (92, 136, 52), n) * dark


def _bark(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    n = _value_noise(u / 0.05, v / 0.8, seed)
    return _mix((74, 58, 42), (108, 86, 62), n)


def _paint(site: Site, epoch: str, part: int, kind: int, u: np.ndarray, v: np.ndarray,
           r_ref: float, seed: int) -> np.ndarray:
    """The material of one chart at chart coordinates (metres; side: u = arc at r_ref)."""
    if part == 0:
        return _terrain(u, v, site, epoch, seed)
    f: Feature = site.features[part - 1]
    z0 = float(site.terrain.z(*f.axis))
    s = seed + 101 * part
    if kind == SIDE:
        # seam faces carry theta + 2*pi: paint them like theta so the seam matches
        u = np.where(u > np.pi * r_ref, u - 2 * np.pi * r_ref, u)
    if f.label == Label.TREE:
        if kind == SIDE:
            crown_bottom = float(f.centroid[2] - f.extra["crown_half_height_m"])
            return _where(v < crown_bottom, _bark(u, v, s), _foliage(u, v, s))
        return _foliage(u, v, s, 1.0 if kind == TOP else 0.7)
    if f.id == "gasometer":
        return _roof(u, v, s) if kind != SIDE else _gasometer_side(u / r_ref, v, s)
    if f.label == Label.GASOMETER:
        return _tower(u, v, s) if kind == SIDE else _gravel(u, v, s) * 0.6
    if f.label == Label.PAVILION:
        return _glass(u, v, z0, s) if kind == SIDE else _gravel(u, v, s)
    if f.label == Label.BUILDING:
        return _house(u, v, z0, s) if kind == SIDE else _tiles(u, v, s)
    return _gravel(u, v, s)


# ---------------------------------------------------------------------------------------------
# charts and atlas


def _chart_coords(mesh: TriMesh, site: Site) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per face: chart key, per-corner chart coordinates in metres (M, 3, 2), and each part's
    reference radius for its side charts.

    A key is ``(part * 3 + kind) * 8 + piece``: side charts are cut into up to 8 pieces by
    angle so that no chart is much wider than tall (long strips pack badly).
    """
    tri = mesh.vertices[mesh.faces]
    nz = mesh.face_normals()[:, 2]
    kind = np.where(nz > 0.5, TOP, np.where(nz < -0.5, BOTTOM, SIDE))
    part = mesh.parts.astype(np.int64)
    terrain_like = (part == 0) | (mesh.labels == Label.EARTHWORK)
    kind = np.where(terrain_like, TOP, kind)
    part = np.where(terrain_like, 0, part)
    n_parts = len(site.features) + 1
    axes = np.array([(0.0, 0.0)] + [f.axis for f in site.features])
    rel = tri[:, :, :2] - axes[part][:, None, :]
    side = kind == SIDE
    # reference radius and height per part, over its side faces
    dist = np.linalg.norm(rel, axis=2).mean(axis=1)
    count = np.bincount(part[side], minlength=n_parts)
    r_ref = np.bincount(part[side], weights=dist[side], minlength=n_parts) / np.maximum(count, 1)
    r_ref = np.where(count > 0, r_ref, 1.0)
    z_lo = np.full(n_parts, np.inf)
    z_hi = np.full(n_parts, -np.inf)
    np.minimum.at(z_lo, part[side], tri[side, :, 2].min(axis=1))
    np.maximum.at(z_hi, part[side], tri[side, :, 2].max(axis=1))
    height = np.where(count > 0, z_hi - z_lo, 1.0)
    pieces = np.clip(np.round(2 * np.pi * r_ref / np.maximum(height, 1e-6)), 1, 8).astype(int)
    theta = np.arctan2(rel[:, :, 1], rel[:, :, 0])
    wraps = (theta.max(axis=1) - theta.min(axis=1)) > np.pi              # faces on the seam
    theta = np.where(wraps[:, None] & (theta < 0), theta + 2 * np.pi, theta)
    k = pieces[part]
    piece = np.minimum(np.floor((theta.mean(axis=1) + np.pi) / (2 * np.pi) * k), k - 1)
    piece = np.where(side, piece, 0).astype(np.int64)
    uv = np.where(side[:, None, None],
                  np.stack([theta * r_ref[part][:, None], tri[:, :, 2]], axis=2),
                  tri[:, :, :2])
    return (part * 3 + kind) * 8 + piece, uv, r_ref


def _shelf_pack(sizes: np.ndarray, width: int) -> tuple[np.ndarray, int]:
    """Top-left positions of (w, h) rectangles, tallest first, each on the first shelf with
    room left (else on a new one); returns the positions and the total height."""
    order = np.argsort(-sizes[:, 1], kind="stable")
    pos = np.zeros_like(sizes)
    shelf_y: list[int] = []
    shelf_x: list[int] = []
    top = 0
    for i in order:
        w, h = sizes[i]
        for s, x in enumerate(shelf_x):
            if x + w <= width:
                pos[i] = (x, shelf_y[s])
                shelf_x[s] += w
                break
        else:
            pos[i] = (0, top)
            shelf_y.append(top)
            shelf_x.append(w)
            top += h
    return pos, top


def _pack(extent: np.ndarray, weight: np.ndarray, size: int,
          height_limit: int | None = None) -> tuple[np.ndarray, float]:
    """Largest texels-per-metre scale at which every chart (metres × weight) fits in the
    atlas' top ``height_limit`` rows (default all)."""
    limit = size if height_limit is None else height_limit
    lo, hi = 1e-3, 1e3
    for _ in range(40):
        mid = np.sqrt(lo * hi)
        sizes = np.ceil(extent * (mid * weight)[:, None]).astype(np.int64) + 2 * PAD
        _, height = _shelf_pack(sizes, size)
        if sizes[:, 0].max() <= size and height <= limit:
            lo = mid
        else:
            hi = mid
    sizes = np.ceil(extent * (lo * weight)[:, None]).astype(np.int64) + 2 * PAD
    pos, _ = _shelf_pack(sizes, size)
    return np.concatenate([pos, sizes], axis=1), lo


def photogrammetry_mesh(site: Site, epoch: str, rng: np.random.Generator,
                        noise_sigma: float = 0.02, texture_size: int = 2048) -> TexturedMesh:
    """The visible scene at ``epoch`` as a welded, noisy, textured mesh (site frame)."""
    scene = site.scene(epoch)
    # cameras never see the ground inside walls or under the heap; ground triangles only
    # partly inside stay (they are covered), so no gap opens along the outline
    hidden = np.zeros(len(scene.faces), bool)
    terrain = np.flatnonzero(scene.parts == 0)
    corners = scene.vertices[scene.faces[terrain]][:, :, :2].reshape(-1, 2)
    for f in site.features_in(epoch):
        if f.hides_ground:
            hidden[terrain] |= points_in_polygon(corners, f.footprint).reshape(-1, 3).all(axis=1)
    mesh = scene.subset(~hidden)
    # weld coincident vertices (wall tops and roof rims) so the noise does not open cracks
    key = np.round(mesh.vertices * 1000.0).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    mesh = TriMesh(mesh.vertices[first], inverse.reshape(-1)[mesh.faces], mesh.labels,
                   mesh.parts)
    keys, uvm, r_ref = _chart_coords(mesh, site)
    noisy = mesh.vertices + rng.normal(0.0, noise_sigma, mesh.vertices.shape)

    charts, inv = np.unique(keys, return_inverse=True)
    lo = np.full((len(charts), 2), np.inf)
    hi = np.full((len(charts), 2), -np.inf)
    flat_inv = np.repeat(inv, 3)
    np.minimum.at(lo, flat_inv, uvm.reshape(-1, 2))
    np.maximum.at(hi, flat_inv, uvm.reshape(-1, 2))
    extent = hi - lo
    # texel budget: the terrain coarser than the buildings on it
    weight = np.where(charts // 24 == 0, 1.0, 2.5)
    band = texture_size // POSTER_BAND           # the poster's rows at the atlas' bottom
    rects, scale = _pack(extent, weight, texture_size, texture_size - band)
    s = scale * weight                                                   # texels per metre

    seed = int(rng.integers(0, 2 ** 31))
    image = np.zeros((texture_size, texture_size, 3), np.float64)
    for c, key in enumerate(charts):
        x0, y0, w, h = rects[c]
        col = np.arange(w) + 0.5 - PAD
        row = np.arange(h) + 0.5 - PAD
        uu = lo[c, 0] + col[None, :] / s[c]
        vv = hi[c, 1] - row[:, None] / s[c]
        uu, vv = np.broadcast_arrays(uu, vv)
        part, kind = int(key) // 24, int(key) // 8 % 3
        image[y0:y0 + h, x0:x0 + w] = _paint(site, epoch, part, kind, uu, vv,
                                             float(r_ref[part]), seed)
    # corner UVs: chart metres -> atlas texels -> [0, 1], v up as OBJ wants it
    c = inv[:, None]
    px = rects[c, 0] + PAD + (uvm[:, :, 0] - lo[c, 0]) * s[c]
    py = rects[c, 1] + PAD + (hi[c, 1] - uvm[:, :, 1]) * s[c]
    uv = np.stack([px / texture_size, 1.0 - py / texture_size], axis=2)
    # the poster on the pavilion: its own quad just in front of the wall, its own texels
    poster_img, _ = privacy_samples.poster(texture_size, band, seed=site.seed)
    image[texture_size - band:] = poster_img
    pv, pf, puv = _poster_quad(site, band / texture_size, 0.5 / texture_size)
    pv = pv + rng.normal(0.0, noise_sigma / 4, pv.shape)
    noisy = np.concatenate([noisy, pv])
    faces = np.concatenate([mesh.faces, pf + len(mesh.vertices)])
    uv = np.concatenate([uv, puv])
    labels = np.concatenate([mesh.labels, np.full(len(pf), Label.PAVILION, np.uint8)])
    texture = np.clip(image, 0, 255).astype(np.uint8)
    return TexturedMesh(noisy, faces, uv, texture, labels)


def _poster_quad(site: Site, v_top: float, inset: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two triangles 5 cm in front of the pavilion's south wall (8 m × 2 m, 1.2 m above the
    ground) and their UVs over the atlas' bottom band (u 0..1, v 0..``v_top``)."""
    f = site.feature("pavilion")
    poly = np.asarray(f.footprint, np.float64)
    edges = np.roll(poly, -1, axis=0) - poly
    normals = np.column_stack([edges[:, 1], -edges[:, 0]]) / np.linalg.norm(edges, axis=1)[:, None]
    k = int(np.argmin(normals[:, 1]))                     # the wall facing south
    t = edges[k] / np.linalg.norm(edges[k])
    mid = poly[k] + edges[k] / 2 + normals[k] * 0.05
    width = min(POSTER_WIDTH_M, 0.8 * float(np.linalg.norm(edges[k])))
    z0 = float(site.terrain.z(*f.axis)) + 1.2
    z1 = z0 + width / POSTER_BAND
    a, b = mid - t * width / 2, mid + t * width / 2
    v = np.array([[*a, z0], [*b, z0], [*b, z1], [*a, z1]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    lo, hi = inset, v_top - inset
    corner_uv = np.array([[inset, lo], [1 - inset, lo], [1 - inset, hi], [inset, hi]])
    return v, faces, corner_uv[faces]


def write_obj(mesh: TexturedMesh, obj_path: Path, origin: tuple[float, float, float],
              crs_note: str) -> list[Path]:
    """OBJ (CRS coordinates as text, 0.1 mm) + MTL + JPEG next to it; returns the three paths.

    Texture coordinates are shared between corners where they coincide; the file is written
    in one formatting call per block, so it is fast and byte-identical for identical input.
    """
    obj_path.parent.mkdir(parents=True, exist_ok=True)
    stem = obj_path.stem
    mtl_path = obj_path.with_suffix(".mtl")
    tex_path = obj_path.with_name(f"{stem}.jpg")
    Image.fromarray(mesh.texture).save(tex_path, format="JPEG", quality=90, optimize=False)
    mtl_path.write_text(
        f"# stadtzeit demo: material of {obj_path.name}\n"
        "newmtl textured\nKa 1.000 1.000 1.000\nKd 1.000 1.000 1.000\nKs 0.000 0.000 0.000\n"
        f"d 1.0\nillum 1\nmap_Kd {tex_path.name}\n", encoding="utf-8", newline="\n")

    v = mesh.vertices + np.asarray(origin, np.float64)
    q = np.round(mesh.uv.reshape(-1, 2) * 1e6).astype(np.int64)
    uq, vt_index = np.unique(q, axis=0, return_inverse=True)
    vt = uq / 1e6
    f = np.empty((len(mesh.faces), 6), np.int64)
    f[:, 0::2] = mesh.faces + 1
    f[:, 1::2] = vt_index.reshape(-1, 3) + 1
    header = (f"# stadtzeit demo: synthetic photogrammetry mesh of the Gasometer site\n"
              f"# coordinates: {crs_note}\n"
              f"# vertices {len(v)}, faces {len(mesh.faces)}\n"
              f"mtllib {mtl_path.name}\nusemtl textured\n")
    with open(obj_path, "w", encoding="utf-8", newline="\n") as out:
        out.write(header)
        out.write(("v %.4f %.4f %.4f\n" * len(v)) % tuple(v.ravel()))
        out.write(("vt %.6f %.6f\n" * len(vt)) % tuple(vt.ravel()))
        out.write(("f %d/%d %d/%d %d/%d\n" * len(f)) % tuple(f.ravel()))
    return [obj_path, mtl_path, tex_path]
