"""View-frustum culling by tile: a mesh's triangles sorted into a grid of tiles over the site,
each tile a contiguous run of the index buffer with a bounding box; per frame the tiles whose
box lies wholly outside every eye's view are left out of the draw.

At life size most of a large site is behind or beside the visitor; in a miniature everything
is in view and nothing is culled. The grid has a fixed number of tiles whatever the mesh size,
so the per-frame test (a few hundred box corners through each eye's matrix, in numpy) costs
the same for 2k and 2M triangles, and the visible runs go to one glMultiDrawElements call.
Plain numpy, no GL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: tiles a side of the grid over the mesh's ground plan
TILES_PER_SIDE = 8


@dataclass(frozen=True)
class Tiles:
    order: np.ndarray      # face permutation: faces[order] puts each tile's faces together
    first: np.ndarray      # (k,) first face of each tile in that order
    count: np.ndarray      # (k,) faces in each tile (none empty)
    lo: np.ndarray         # (k, 3) bounding box of each tile's triangles (site frame)
    hi: np.ndarray
    corners: np.ndarray    # (k, 8, 4) the boxes' corners, homogeneous

    def visible(self, mvps: list[np.ndarray]) -> np.ndarray:
        """(k,) bool: tiles that may show in at least one view (model-view-projection
        matrices, OpenGL clip space). A tile is out of a view when all its box corners lie
        beyond one clip plane; a box that straddles planes without touching the view is kept
        (conservative: never a missing triangle)."""
        corners = self.corners
        seen = np.zeros(len(self.lo), bool)
        for mvp in mvps:
            clip = corners @ np.asarray(mvp, np.float64).T          # (k, 8, 4)
            w = clip[..., 3:4]
            outside = np.concatenate([clip[..., :3] < -w, clip[..., :3] > w], axis=2)
            seen |= ~outside.all(axis=1).any(axis=1)
        return seen

    def runs(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First face and face count of each run of consecutive visible tiles."""
        idx = np.flatnonzero(mask)
        if not len(idx):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        starts, ends = idx[np.r_[0, breaks]], idx[np.r_[breaks - 1, len(idx) - 1]]
        first = self.first[starts]
        return first, self.first[ends] + self.count[ends] - first


def make_tiles(vertices: np.ndarray, faces: np.ndarray,
               per_side: int = TILES_PER_SIDE) -> Tiles:
    """Sort `faces` into a `per_side` x `per_side` grid by their centroids' x and y; each
    tile's box holds all of its triangles' corners."""
    v = np.asarray(vertices, np.float32)
    f = np.asarray(faces, np.int64)
    none = np.zeros(0, np.int64)
    if not len(f):
        return Tiles(none, none, none, np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 8, 4)))
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]    # corners (elementwise: reducing over a
    centre = (a + b + c) / 3.0                        # middle axis of 3 is slow in numpy)
    lo, hi = centre[:, :2].min(axis=0), centre[:, :2].max(axis=0)
    cell = np.floor((centre[:, :2] - lo) / np.maximum(hi - lo, 1e-9) * per_side)
    cell = np.clip(cell.astype(np.int64), 0, per_side - 1)
    tile = cell[:, 1] * per_side + cell[:, 0]
    order = np.argsort(tile, kind="stable")
    _, first, count = np.unique(tile[order], return_index=True, return_counts=True)
    low = np.minimum(np.minimum(a, b), c)[order]
    high = np.maximum(np.maximum(a, b), c)[order]
    box_lo = np.minimum.reduceat(low, first, axis=0).astype(np.float64)
    box_hi = np.maximum.reduceat(high, first, axis=0).astype(np.float64)
    pick = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], bool)
    corners = np.where(pick[None], box_hi[:, None, :], box_lo[:, None, :])
    corners = np.concatenate([corners, np.ones((len(first), 8, 1))], axis=2)
    return Tiles(order, first.astype(np.int64), count.astype(np.int64), box_lo, box_hi,
                 corners)
