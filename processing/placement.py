"""Scans in a local frame (a scanner's own, an SfM project's) placed into the site frame by the
manifest's ``placement``: a 4x4 matrix, or an origin with rotation and scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assets_manifest.models import Placement


def matrix(p: Placement) -> np.ndarray:
    """The 4x4 matrix local -> site CRS of a placement."""
    if p.transform is not None:
        return np.asarray(p.transform, dtype=np.float64)
    rx, ry, rz = np.radians(p.rotation)
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    t = np.eye(4)
    t[:3, :3] = p.scale * (r_z @ r_y @ r_x)
    t[:3, 3] = p.origin
    return t


def scale_of(p: Placement) -> float:
    return float(np.cbrt(abs(np.linalg.det(matrix(p)[:3, :3]))))


def place(xyz: np.ndarray, p: Placement, origin: Sequence[float]) -> np.ndarray:
    """Local coordinates -> the site frame (site CRS minus ``origin``), in float64.

    The origin is subtracted from the matrix's translation first, so the large site-CRS
    numbers never meet the local coordinates' digits."""
    t = matrix(p)
    shift = t[:3, 3] - np.asarray(origin, dtype=np.float64)
    return np.asarray(xyz, dtype=np.float64) @ t[:3, :3].T + shift


__all__ = ["matrix", "place", "scale_of"]
