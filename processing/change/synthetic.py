"""Synthetic epochs with a known answer, for tests and benchmarks of change detection.

A city block: flat ground with box buildings (roofs and walls), sampled uniformly by area
with Gaussian noise.  A second epoch removes one building, adds another and shifts
everything a little, like a real pair of surveys with a residual registration error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[float, float, float, float, float]  # x0, y0, width (x), depth (y), height


def default_buildings(size: float = 200.0) -> list[Box]:
    """4 x 4 blocks of 25 x 20 m, 8-17 m high, on a 200 m square (scaled with ``size``)."""
    s = size / 200.0
    return [(s * (20 + 45 * i), s * (20 + 45 * j), s * 25, s * 20, 8.0 + 3.0 * ((i + j) % 4))
            for i in range(4) for j in range(4)]


def _split(n: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts proportional to ``weights`` summing exactly to ``n``."""
    raw = n * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(raw - out)[::-1][: n - out.sum()]] += 1
    return out


def box_scene(n_points: int, boxes: Sequence[Box], *, size: float = 200.0, seed: int = 0,
              noise: float = 0.01, wall_density: float = 1.0,
              shift: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """(n_points, 3) samples of the ground square [0, size]^2 at z = 0 (minus footprints) and
    of each box's roof and four walls; walls get ``wall_density`` times the areal density
    (airborne LiDAR sees little of them)."""
    rng = np.random.default_rng(seed)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    roof = b[:, 2] * b[:, 3]
    wall = 2.0 * (b[:, 2] + b[:, 3]) * b[:, 4] * wall_density
    ground = size * size - roof.sum()
    counts = _split(n_points, np.concatenate([[ground], roof, wall]))
    parts = []
    # Ground: oversample the square and drop what falls under a footprint.
    need = counts[0]
    got = np.zeros((0, 3))
    while got.shape[0] < need:
        g = np.column_stack([rng.random((2 * need + 16, 2)) * size, np.zeros(2 * need + 16)])
        under = np.zeros(g.shape[0], dtype=bool)
        for x0, y0, w, d, _ in b:
            under |= (g[:, 0] >= x0) & (g[:, 0] < x0 + w) & (g[:, 1] >= y0) & (g[:, 1] < y0 + d)
        got = np.concatenate([got, g[~under]])
    parts.append(got[:need])
    for (x0, y0, w, d, h), nr, nw in zip(b, counts[1:1 + len(b)], counts[1 + len(b):],
                                         strict=True):
        parts.append(np.column_stack([x0 + rng.random(nr) * w, y0 + rng.random(nr) * d,
                                      np.full(nr, h)]))
        s = rng.random(nw) * 2.0 * (w + d)
        z = rng.random(nw) * h
        x = np.select([s < w, s < w + d, s < 2 * w + d],
                      [x0 + s, np.full(nw, x0 + w), x0 + w - (s - w - d)], np.full(nw, x0))
        y = np.select([s < w, s < w + d, s < 2 * w + d],
                      [np.full(nw, y0), y0 + (s - w), np.full(nw, y0 + d)],
                      y0 + d - (s - 2 * w - d))
        parts.append(np.column_stack([x, y, z]))
    pts = np.concatenate(parts)
    pts += rng.normal(0.0, noise, pts.shape) if noise > 0 else 0.0
    return pts + np.asarray(shift, dtype=np.float64)


def city_block_pair(n_points: int, *, size: float = 200.0, seed: int = 0, noise: float = 0.01,
                    shift: Sequence[float] = (0.05, -0.03, 0.02)
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, Box]]:
    """Two epochs of the default block: the second removes building 5, adds a 20 x 20 x 12 m
    one on open ground and is shifted by ``shift`` (metres).  Returns (epoch1, epoch2,
    {"removed": box, "added": box})."""
    blds = default_buildings(size)
    s = size / 200.0
    added: Box = (s * 157.0, s * 2.0, s * 20.0, s * 15.0, 12.0)
    removed = blds[5]
    e1 = box_scene(n_points, blds, size=size, seed=seed, noise=noise)
    e2 = box_scene(n_points, [bb for k, bb in enumerate(blds) if k != 5] + [added], size=size,
                   seed=seed + 1, noise=noise, shift=shift)
    return e1, e2, {"removed": removed, "added": added}


def box_mesh(x0: float, y0: float, z0: float, w: float, d: float, h: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """A closed box (8 vertices, 12 triangles) with outward, counter-clockwise faces."""
    v = np.array([[x0 + dx * w, y0 + dy * d, z0 + dz * h]
                  for dz in (0, 1) for dy in (0, 1) for dx in (0, 1)], dtype=np.float64)
    f = np.array([[0, 2, 1], [1, 2, 3],      # bottom (-z)
                  [4, 5, 6], [5, 7, 6],      # top (+z)
                  [0, 1, 4], [1, 5, 4],      # y = y0 (-y)
                  [2, 6, 3], [3, 6, 7],      # y = y0 + d (+y)
                  [0, 4, 2], [2, 4, 6],      # x = x0 (-x)
                  [1, 3, 5], [3, 7, 5]],     # x = x0 + w (+x)
                 dtype=np.int64)
    return v, f


def height_field_mesh(x: np.ndarray, y: np.ndarray, z: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """An open, upward-facing triangle mesh of heights ``z`` (len(y), len(x)) on a grid."""
    X, Y = np.meshgrid(x, y)
    v = np.column_stack([X.ravel(), Y.ravel(), np.asarray(z, dtype=np.float64).ravel()])
    nx = len(x)
    i, j = np.meshgrid(np.arange(len(x) - 1), np.arange(len(y) - 1))
    a = (j * nx + i).ravel()
    b, c, d = a + 1, a + nx, a + nx + 1
    f = np.concatenate([np.column_stack([a, b, d]), np.column_stack([a, d, c])])
    return v, f.astype(np.int64)
