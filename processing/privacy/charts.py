"""Where and in which turn to search a texture atlas for faces and plates, from the mesh's UVs.

People stand and cars drive upright, so on a wall a face or a plate is upright in the world.
A texture atlas keeps each chart in its own orientation; the mesh says which: per triangle,
the direction in which the world's height grows across its texels is the world's up in the
texture.  A chart is therefore searched in the one quarter turn that brings that direction to
the top of the image, instead of in every turn.  Where the surface is near horizontal (ground,
roofs) up has no direction in the texture and every turn of ``rotations`` is searched, as for a
photo.  Texels that no triangle uses are never shown and not searched.

``regions(mesh, rotations)`` returns the rectangles to search, each with its turns (see
``images.Region``), or None when the UVs do not describe an atlas (no UVs, UVs outside the
image as a repeating texture has them): then the whole image is searched in every turn.
"""

from __future__ import annotations

import numpy as np

from processing.privacy.images import Region
from processing.types import Mesh

CELL = 8            # px: the grid on which charts are found (a face is at least 20 px wide)
MARGIN = 16         # px around a chart's texels: the cascade's windows reach a little beyond
STEEP = 0.7         # |normal z| below this: a wall, whose up is known (above: ground, roofs)
ANY = 4             # class of the texels where up has no direction
SLIVER = 5          # class of the triangles whose texels are squeezed into a line
#: the widest a real face or plate can be on the ground, in metres: a face is 15–25 cm wide, a
#: plate 52 cm (EU); twice that where an oblique photo stretched one onto the ground.  On a
#: wall there is no such bound (a poster's faces are any size).
LIFE_SIZE_M = {"face": 0.5, "plate": 1.2}
STRETCH = 8.0       # a triangle stretched more than this (longest / shortest side of its texel
#                     mapping) is a sliver


def up_turns(mesh: Mesh) -> np.ndarray:
    """Per triangle, the quarter turn (``np.rot90``'s k) that brings the world's up to the top
    of the texture; ``ANY`` where the triangle is near horizontal; ``SLIVER`` where its texels
    are squeezed (a rib's side mapped to a line: the vertex noise would decide its up)."""
    return _triangles(mesh)[0]


def _triangles(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle: ``up_turns``' class, and the metres per texel along its finest direction
    (how large a real object of a metre is in its texels: 1 / that)."""
    h, w = mesh.texture.shape[:2]
    t = (mesh.uv.astype(np.float64) * (w, h))[mesh.faces]           # (M, 3, 2) px, y down
    p = np.asarray(mesh.vertices, np.float64)[mesh.faces]           # (M, 3, 3)
    e = t[:, 1:] - t[:, :1]                                          # (M, 2, 2): rows e1, e2
    det = e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0]
    ok = np.abs(det) > 1e-9
    inv = np.stack([np.stack([e[:, 1, 1], -e[:, 0, 1]], 1),
                    np.stack([-e[:, 1, 0], e[:, 0, 0]], 1)], 1)
    inv /= np.where(ok, det, 1.0)[:, None, None]
    # texture -> world: the 3 × 2 Jacobian (metres per texel along x and y)
    jac = np.einsum("mij,mkj->mik", (p[:, 1:] - p[:, :1]).transpose(0, 2, 1), inv)
    sv = np.linalg.svd(jac, compute_uv=False)                        # (M, 2), descending
    ok &= sv[:, 1] > sv[:, 0] / STRETCH
    gx, gy = jac[:, 2, 0], jac[:, 2, 1]           # height gained per texel right / down
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    length = np.linalg.norm(n, axis=1)
    steep = np.abs(n[:, 2]) < STEEP * np.maximum(length, 1e-300)
    # image y grows downward: up at the top is -y; up to the right needs a counter-clockwise
    # quarter turn (k=1), to the left a clockwise one (k=3), at the bottom half a turn (k=2)
    turn = np.where(np.abs(gy) >= np.abs(gx), np.where(gy <= 0, 0, 2), np.where(gx > 0, 1, 3))
    cls = np.where(ok, np.where(steep & (length > 0), turn, ANY), SLIVER).astype(np.int64)
    return cls, sv[:, 1]


def regions(mesh: Mesh, rotations: tuple[int, ...] = (0, 1, 3)) -> list[Region] | None:
    """The rectangles of the atlas that triangles use, each with the turns to search it in
    (its charts' up; ``rotations`` where up has no direction), or None if the UVs are not an
    atlas layout.  Slivers take the turn of the charts around them (``rotations`` if none)."""
    import cv2

    if mesh.texture is None or mesh.uv is None or mesh.n_faces == 0:
        return None
    uv = np.asarray(mesh.uv, np.float64)
    if not np.isfinite(uv).all() or uv.min() < -0.01 or uv.max() > 1.01:
        return None                          # a repeating texture: its texels are everywhere
    h, w = mesh.texture.shape[:2]
    gh, gw = -(-h // CELL), -(-w // CELL)
    cells = np.floor((uv * (w, h) / CELL)[mesh.faces]).astype(np.int32)   # (M, 3, 2)
    turn, texel_m = _triangles(mesh)
    centre = np.floor(cells.mean(axis=1)).astype(np.int64).clip(0, (gw - 1, gh - 1))

    def mask_of(tris: np.ndarray) -> np.ndarray:
        m = np.zeros((gh, gw), np.uint8)
        cv2.fillPoly(m, list(tris), 1)
        cv2.polylines(m, list(tris), True, 1)        # triangles thinner than a cell
        return m

    masks = {k: mask_of(cells[turn == k]) for k in (0, 1, 2, 3, ANY) if (turn == k).any()}
    claimed = np.zeros((gh, gw), bool)
    for m in masks.values():
        claimed |= m.astype(bool)
    rest = mask_of(cells[turn == SLIVER]).astype(bool) & ~claimed
    if rest.any():
        masks[ANY] = (masks.get(ANY, np.zeros((gh, gw), np.uint8)).astype(bool) | rest
                      ).astype(np.uint8)
    reach = -(-MARGIN // CELL)
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
    out: list[Region] = []
    for k, mask in masks.items():
        # one region per island of the chart's cells, with the margin around it; the texels
        # of this turn's other islands within the margin are kept too (they are searched
        # twice there, which costs less than one bounding box over far-apart islands)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        turns = tuple(rotations) if k == ANY else (k,)
        keep = np.repeat(np.repeat(cv2.dilate(mask, grow).astype(bool), CELL, 0), CELL, 1)
        finest = _finest_per_island(labels, n, centre, texel_m, turn, k)
        for i, (x, y, cw, ch, _area) in enumerate(stats[1:n], start=1):
            x0, y0 = max(0, (x - reach) * CELL), max(0, (y - reach) * CELL)
            x1, y1 = min(w, (x + cw + reach) * CELL), min(h, (y + ch + reach) * CELL)
            widest = {} if k != ANY or not np.isfinite(finest[i]) else \
                {kind: size / finest[i] for kind, size in LIFE_SIZE_M.items()}
            out.append(Region(int(x0), int(y0), int(x1 - x0), int(y1 - y0), turns,
                              keep[y0:y1, x0:x1], widest))
    return out


def _finest_per_island(labels: np.ndarray, n: int, centre: np.ndarray, texel_m: np.ndarray,
                       turn: np.ndarray, k: int) -> np.ndarray:
    """Per island of class ``k`` (slivers count with ``ANY``): the 5th percentile of its
    triangles' metres per texel (inf where none is known)."""
    mine = (turn == k) | ((turn == SLIVER) if k == ANY else False)
    island = labels[centre[:, 1], centre[:, 0]]
    out = np.full(n, np.inf)
    sel = mine & (island > 0) & np.isfinite(texel_m) & (texel_m > 0)
    order = np.argsort(island[sel], kind="stable")
    ids, start = np.unique(island[sel][order], return_index=True)
    for i, part in zip(ids, np.split(texel_m[sel][order], start[1:]), strict=True):
        out[i] = np.percentile(part, 5)
    return out


__all__ = ["ANY", "regions", "up_turns"]
