"""Rigid transforms, projections and the two frames of VR mode (numpy, float64).

- The *site frame* is the archive's: x east, y north, z up, metres from the site origin.
- The *stage frame* is OpenXR's: x right, y up, -z forward, metres, floor at y = 0 (stage
  space; with a local space the floor is estimated, see session.py).

`SITE_TO_STAGE` turns site axes into stage axes, so that north is "forward" before any turn.
Quaternions are (x, y, z, w), as OpenXR gives them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SITE_TO_STAGE = np.array([[1.0, 0.0, 0.0, 0.0],
                          [0.0, 0.0, 1.0, 0.0],
                          [0.0, -1.0, 0.0, 0.0],
                          [0.0, 0.0, 0.0, 1.0]])


def quat_matrix(q: Sequence[float]) -> np.ndarray:
    """3x3 rotation of a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(c) for c in q)
    n = x * x + y * y + z * z + w * w
    s = 2.0 / n if n > 0 else 0.0
    return np.array([
        [1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
        [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
        [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)],
    ])


def pose_matrix(position: Sequence[float], orientation: Sequence[float]) -> np.ndarray:
    """4x4 matrix of a pose: stage-from-local."""
    m = np.eye(4)
    m[:3, :3] = quat_matrix(orientation)
    m[:3, 3] = position
    return m


def rigid_inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of a rotation + translation (+ uniform scale) matrix without a general inverse."""
    r = m[:3, :3]
    s2 = float(np.dot(r[:, 0], r[:, 0])) or 1.0
    inv = np.eye(4)
    inv[:3, :3] = r.T / s2
    inv[:3, 3] = -inv[:3, :3] @ m[:3, 3]
    return inv


def translation(t: Sequence[float]) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = t
    return m


def yaw_matrix(angle: float) -> np.ndarray:
    """Rotation by `angle` (radians, counter-clockwise seen from above) about stage +y."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s, 0.0], [0.0, 1.0, 0.0, 0.0], [-s, 0.0, c, 0.0],
                     [0.0, 0.0, 0.0, 1.0]])


def projection_from_fov(left: float, right: float, up: float, down: float, near: float,
                        far: float) -> np.ndarray:
    """OpenGL clip-from-eye matrix for an asymmetric field of view (angles in radians, left and
    down negative, as in XrFovf), depth mapped to [-1, 1]."""
    tl, tr, tu, td = math.tan(left), math.tan(right), math.tan(up), math.tan(down)
    w, h = tr - tl, tu - td
    return np.array([
        [2.0 / w, 0.0, (tr + tl) / w, 0.0],
        [0.0, 2.0 / h, (tu + td) / h, 0.0],
        [0.0, 0.0, -(far + near) / (far - near), -2.0 * far * near / (far - near)],
        [0.0, 0.0, -1.0, 0.0],
    ])


def transform_points(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 affine matrix to (N, 3) points."""
    p = np.asarray(points, np.float64)
    return p @ m[:3, :3].T + m[:3, 3]


def forward_yaw(orientation: Sequence[float]) -> float:
    """Heading of an orientation's forward (-z) axis, projected on the floor: the yaw angle
    (as in `yaw_matrix`) that turns -z into it."""
    f = quat_matrix(orientation) @ np.array([0.0, 0.0, -1.0])
    return math.atan2(-f[0], -f[2])
