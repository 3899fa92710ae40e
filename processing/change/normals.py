"""Surface normals at arbitrary positions by PCA of the points within a radius.

The normal is the eigenvector of the smallest eigenvalue of the neighbours' covariance (as in
PDAL's ``math::findNormal``, CloudCompare and py4dgeo).  The 3x3 eigenproblems are solved in
closed form for all positions at once; rows where that is ill-conditioned go to
``numpy.linalg.eigh``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pykdtree.kdtree import KDTree

from processing.change._common import (
    F32_PAD,
    as_points,
    ball_query,
    build_tree,
    centre_of,
    estimate_k,
    extent_of,
    padded,
    positive,
)
from processing.errors import ProcessingError

Orientation = str | Sequence[float] | np.ndarray


def smallest_eigenvectors(cov: np.ndarray) -> np.ndarray:
    """Unit eigenvectors of the smallest eigenvalue of symmetric (M, 3, 3) matrices.

    NaN rows where the smallest eigenvalue is not separated from the middle one (collinear or
    coincident points): there the plane, and so the normal, is undefined.
    """
    m = cov.shape[0]
    out = np.full((m, 3), np.nan)
    if m == 0:
        return out
    a00, a11, a22 = cov[:, 0, 0], cov[:, 1, 1], cov[:, 2, 2]
    a01, a02, a12 = cov[:, 0, 1], cov[:, 0, 2], cov[:, 1, 2]
    # Trigonometric eigenvalues of a symmetric 3x3 (Smith 1961), on component arrays.
    q = (a00 + a11 + a22) / 3.0
    d0, d1, d2 = a00 - q, a11 - q, a22 - q
    p1 = a01 * a01 + a02 * a02 + a12 * a12
    p = np.sqrt((d0 * d0 + d1 * d1 + d2 * d2 + 2.0 * p1) / 6.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        det = (d0 * (d1 * d2 - a12 * a12) - a01 * (a01 * d2 - a12 * a02)
               + a02 * (a01 * a12 - d1 * a02)) / (p * p * p)
        phi = np.arccos(np.clip(det / 2.0, -1.0, 1.0)) / 3.0
    lam_max = q + 2.0 * p * np.cos(phi)
    lam_min = q + 2.0 * p * np.cos(phi + 2.0 * np.pi / 3.0)
    lam_mid = 3.0 * q - lam_max - lam_min
    # Rows of (A - lam_min I) span the plane orthogonal to the eigenvector: the largest of
    # their three pairwise cross products is the most accurate direction.
    b00, b11, b22 = a00 - lam_min, a11 - lam_min, a22 - lam_min
    c01 = (a01 * a12 - a02 * b11, a02 * a01 - b00 * a12, b00 * b11 - a01 * a01)
    c02 = (a01 * b22 - a02 * a12, a02 * a02 - b00 * b22, b00 * a12 - a01 * a02)
    c12 = (b11 * b22 - a12 * a12, a12 * a02 - a01 * b22, a01 * a12 - b11 * a02)
    n01 = c01[0] ** 2 + c01[1] ** 2 + c01[2] ** 2
    n02 = c02[0] ** 2 + c02[1] ** 2 + c02[2] ** 2
    n12 = c12[0] ** 2 + c12[1] ** 2 + c12[2] ** 2
    use02 = n02 > n01
    best = np.where(use02, n02, n01)
    use12 = n12 > best
    best = np.where(use12, n12, best)
    inv = np.zeros(m)
    np.divide(1.0, np.sqrt(best), out=inv, where=best > 0)
    for j in range(3):
        out[:, j] = np.where(use12, c12[j], np.where(use02, c02[j], c01[j])) * inv
    scale = np.maximum(np.abs(lam_max), np.finfo(float).tiny)
    with np.errstate(invalid="ignore"):
        good = ((lam_mid - lam_min) / scale > 1e-6) & (best > 0)
    out[~good] = np.nan
    # Closed form is accurate when the gap is clear; otherwise ask LAPACK.
    redo = np.flatnonzero(~good & np.isfinite(cov).all(axis=(1, 2)))
    if redo.size:
        w, vec = np.linalg.eigh(cov[redo])
        sep = (w[:, 1] - w[:, 0]) > 1e-12 * np.maximum(np.abs(w[:, 2]), np.finfo(float).tiny)
        sep &= w[:, 2] > 0
        out[redo[sep]] = vec[sep, :, 0]
    return out


def orient(normals: np.ndarray, positions: np.ndarray, orientation: Orientation) -> np.ndarray:
    """Flip normals to point up (+z) or towards a viewpoint; NaN rows stay NaN."""
    if isinstance(orientation, str):
        if orientation != "up":
            raise ProcessingError(f"normal orientation {orientation!r} is not known: use 'up' "
                                  "(+z) or a viewpoint (x, y, z) the normals should face")
        flip = normals[:, 2] < 0
    else:
        vp = np.asarray(orientation, dtype=np.float64)
        if vp.shape != (3,) or not np.isfinite(vp).all():
            raise ProcessingError("normal orientation must be 'up' or a viewpoint of three "
                                  f"finite coordinates, got {orientation!r}")
        flip = np.einsum("ij,ij->i", normals, vp - positions) < 0
    out = normals.copy()
    out[flip] *= -1.0
    return out


def pca_from_moments(mom: np.ndarray, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Unoriented normals and counts from (M, 4, 4) moment matrices of homogeneous offsets
    (x, y, z, 1) about each query point: [:3, :3] = sum q q^T, [:3, 3] = sum q, [3, 3] = n.

    Moments about the query point rather than the centroid: |q| <= radius keeps them well
    conditioned and saves a second pass over the neighbours.
    """
    cnt = np.rint(mom[:, 3, 3]).astype(np.int64)
    safe = np.maximum(cnt, 1)[:, None]
    mean = mom[:, :3, 3] / safe
    cov = mom[:, :3, :3] / safe[:, :, None] - mean[:, :, None] * mean[:, None, :]
    nrm = smallest_eigenvectors(cov)
    nrm[cnt < min_points] = np.nan
    return nrm, cnt


def neighbour_moments(padded4: np.ndarray, idx: np.ndarray, at: np.ndarray, radius: float,
                      n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gathered homogeneous offsets ``rel`` (Q, K, 4) of the neighbours ``idx`` from ``at``,
    zeroed outside the ball; their squared distances, the in-ball mask, and the moments."""
    rel = np.take(padded4, idx, axis=0)
    rel[:, :, :3] -= at[:, None, :]
    d2 = np.einsum("qkj,qkj->qk", rel[:, :, :3], rel[:, :, :3])
    inside = (idx < n) & (d2 <= radius * radius)
    rel *= inside[:, :, None]
    mom = np.matmul(rel.transpose(0, 2, 1), rel)
    return rel, d2, inside, mom


def pca_normals_centred(tree: KDTree, points: np.ndarray, at: np.ndarray, radius: float,
                        min_points: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unoriented normals and neighbour counts at ``at`` (both already centred, float64)."""
    n = points.shape[0]
    normals = np.full((at.shape[0], 3), np.nan)
    counts = np.zeros(at.shape[0], dtype=np.int64)
    if n == 0 or at.shape[0] == 0:
        return normals, counts
    pad = F32_PAD * max(extent_of(points, at), radius)
    pts = padded(points, ones=True)
    q32 = np.ascontiguousarray(at, dtype=np.float32)
    k0 = estimate_k(tree, n, q32, radius + pad)
    for rows, idx in ball_query(tree, n, q32, radius + pad, k_start=k0):
        mom = neighbour_moments(pts, idx, at[rows], radius, n)[3]
        normals[rows], counts[rows] = pca_from_moments(mom, min_points)
    return normals, counts


def estimate_normals(points: np.ndarray, at: np.ndarray, radius: float,
                     orientation: Orientation = "up", min_points: int = 3
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Oriented unit normals of ``points`` at positions ``at`` from all neighbours within
    ``radius`` (PCA); returns ``(normals, counts)``.  NaN normals where fewer than
    ``min_points`` neighbours (3 at least: two points do not define a plane) or collinear."""
    pts = as_points(points, "points for normals")
    pos = as_points(at, "normal positions", allow_empty=True)
    radius = positive(radius, "normal_radius")
    if min_points < 3:
        raise ProcessingError(f"min_points for normals must be >= 3, got {min_points}")
    origin = centre_of(pts)
    c_pts, c_pos = pts - origin, pos - origin
    normals, counts = pca_normals_centred(build_tree(c_pts), c_pts, c_pos, radius, min_points)
    return orient(normals, pos, orientation), counts
