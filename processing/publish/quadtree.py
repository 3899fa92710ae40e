"""Spatial tiling of large LODs: a quadtree in plan (site frame x, y) over the whole chain.

An LOD with more than ``max_faces`` triangles is split into the leaf cells of a quadtree; each
triangle goes to the one cell that holds its centroid. No triangle is cut or duplicated, so the
tiles of one LOD together are exactly that LOD's surface; neighbouring tiles share the
vertices on their border (each tile keeps its own copy), so they meet without cracks. A tile's
bounding box is its own triangles' box, which may reach past its cell.

The trees of a chain nest: a finer LOD splits every cell its coarser neighbour split (and more
where it has more triangles), so each tile of LOD k-1 lies inside exactly one cell of LOD k and
becomes a child of that tile (REPLACE). Where LOD k has no triangles in that cell, the cell
still becomes a tile, without content, so the finer tiles keep a parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from processing.types import Mesh

#: Triangles per tile above which an LOD is split (a few MB of glTF; what a browser loads
#: and draws without stalling). Tests pass a small value.
MAX_TILE_FACES = 250_000
#: Deepest split: a cell is square/2^16 wide (1.5 cm on a 1 km site); beyond it a cell stays
#: one tile however many triangles it holds (all centroids in one spot).
MAX_DEPTH = 16

Cell = tuple[int, int, int]   # (depth, ix, iy): ix, iy in 0 .. 2^depth - 1
ROOT: Cell = (0, 0, 0)


@dataclass(frozen=True)
class Square:
    """The quadtree's root cell in plan: x0 .. x0 + size, y0 .. y0 + size (site frame)."""

    x0: float
    y0: float
    size: float

    def centre(self, cell: Cell) -> tuple[float, float]:
        d, ix, iy = cell
        w = self.size / 2**d
        return self.x0 + (ix + 0.5) * w, self.y0 + (iy + 0.5) * w


@dataclass
class LodTiles:
    """How one LOD is cut: ``cells`` maps each non-empty leaf cell to its triangle indices
    (ascending, the mesh's order). An LOD that is not split has one cell, the root."""

    lod: int
    cells: dict[Cell, np.ndarray]
    split: set[Cell] = field(default_factory=set)   # the cells this LOD's tree divided

    @property
    def is_split(self) -> bool:
        return bool(self.split)

    def uri(self, cell: Cell) -> str:
        return f"lod{self.lod}/{quadkey(cell)}.glb" if self.is_split else f"lod{self.lod}.glb"


def quadkey(cell: Cell) -> str:
    """'t' and one digit 0-3 per level (bit 0: east half, bit 1: north half)."""
    d, ix, iy = cell
    return "t" + "".join(str(((ix >> s) & 1) | (((iy >> s) & 1) << 1))
                         for s in range(d - 1, -1, -1))


def parent_of(cell: Cell) -> Cell:
    d, ix, iy = cell
    return (d - 1, ix >> 1, iy >> 1)


def plan_square(chain: list[Mesh]) -> Square:
    lo = np.min([np.asarray(m.vertices)[:, :2].min(axis=0) for m in chain], axis=0)
    hi = np.max([np.asarray(m.vertices)[:, :2].max(axis=0) for m in chain], axis=0)
    size = float(max(hi - lo)) * (1 + 1e-6) + 1e-3   # every centroid strictly inside
    return Square(float(lo[0]), float(lo[1]), size)


def centroids_xy(mesh: Mesh) -> np.ndarray:
    """Plan centroids of all triangles, float64, in chunks (bounded memory)."""
    v = np.asarray(mesh.vertices)
    f = np.asarray(mesh.faces)
    out = np.empty((len(f), 2))
    step = 1 << 20
    for s in range(0, len(f), step):
        tri = f[s:s + step]
        out[s:s + step] = (v[tri[:, 0], :2].astype(np.float64) + v[tri[:, 1], :2]
                           + v[tri[:, 2], :2]) / 3
    return out


def split_lod(mesh: Mesh, lod: int, square: Square, max_faces: int,
              must_split: set[Cell]) -> LodTiles:
    """Cut ``mesh`` into quadtree cells of at most ``max_faces`` triangles, dividing at least
    the cells in ``must_split`` (the coarser LOD's divisions)."""
    n = len(mesh.faces)
    if n <= max_faces and not must_split:
        return LodTiles(lod, {ROOT: np.arange(n)})
    c = centroids_xy(mesh)
    cells: dict[Cell, np.ndarray] = {}
    split: set[Cell] = set()
    stack: list[tuple[Cell, np.ndarray]] = [(ROOT, np.arange(n))]
    while stack:
        cell, idx = stack.pop()
        d, ix, iy = cell
        if d >= MAX_DEPTH or (len(idx) <= max_faces and cell not in must_split):
            if len(idx):
                cells[cell] = idx
            continue
        split.add(cell)
        mx, my = square.centre(cell)
        q = (c[idx, 0] >= mx).astype(np.int8) | ((c[idx, 1] >= my).astype(np.int8) << 1)
        order = np.argsort(q, kind="stable")         # keeps the mesh's order inside a cell
        parts = np.split(idx[order], np.cumsum(np.bincount(q, minlength=4))[:-1])
        for k, part in enumerate(parts):
            child = (d + 1, 2 * ix + (k & 1), 2 * iy + (k >> 1))
            if len(part) or child in must_split:
                stack.append((child, part))
    return LodTiles(lod, cells, split)


def tile_chain(chain: list[Mesh], max_faces: int = MAX_TILE_FACES
               ) -> tuple[Square, list[LodTiles]]:
    """The tiling of every LOD of ``chain`` (LOD 0 first), coarsest planned first so that
    finer trees divide every cell a coarser one divided."""
    square = plan_square(chain)
    coarse_first: list[LodTiles] = []
    must: set[Cell] = set()
    for k in range(len(chain) - 1, -1, -1):
        coarse_first.append(split_lod(chain[k], k, square, max_faces, must))
        must = must | coarse_first[-1].split
    return square, coarse_first[::-1]


def sub_mesh(mesh: Mesh, faces: np.ndarray) -> tuple[Mesh, np.ndarray]:
    """The triangles ``faces`` of ``mesh`` as a mesh of their own, and which of ``mesh``'s
    vertices it uses (``used[i]`` is the source index of vertex i). A texture is cropped to the
    texels the tile's UVs reach (plus a 2-texel margin for filtering), UVs remapped exactly."""
    f = np.asarray(mesh.faces)[faces]
    used, inverse = np.unique(f, return_inverse=True)

    def pick(a):
        return None if a is None else np.asarray(a)[used]
    sub = Mesh(vertices=np.asarray(mesh.vertices)[used],
               faces=inverse.reshape(-1, 3).astype(np.uint32), frame="site",
               vertex_colors=pick(mesh.vertex_colors), normals=pick(mesh.normals),
               uv=pick(mesh.uv), texture_format=mesh.texture_format)
    if mesh.texture is not None and sub.uv is not None:
        sub.texture, sub.uv = crop_texture(mesh.texture, sub.uv)
    return sub, used


def crop_texture(texture: np.ndarray, uv: np.ndarray, margin: int = 2
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``texture`` that ``uv`` (glTF convention, clamped to 0..1) reaches, and the
    UVs in it. Texel centres stay where they were: u' = (u * W - x0) / w."""
    h, w = texture.shape[:2]
    uv = np.clip(np.asarray(uv, dtype=np.float64), 0.0, 1.0)
    x0 = max(int(np.floor(uv[:, 0].min() * w)) - margin, 0)
    x1 = min(int(np.ceil(uv[:, 0].max() * w)) + margin, w)
    y0 = max(int(np.floor(uv[:, 1].min() * h)) - margin, 0)
    y1 = min(int(np.ceil(uv[:, 1].max() * h)) + margin, h)
    crop = np.ascontiguousarray(texture[y0:y1, x0:x1])
    out = np.column_stack([(uv[:, 0] * w - x0) / (x1 - x0), (uv[:, 1] * h - y0) / (y1 - y0)])
    return crop, out.astype(np.float32)
