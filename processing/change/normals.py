"""Surface normals at arbitrary positions by PCA of the points within a radius.

The normal is the eigenvector of the smallest eigenvalue of the neighbours' covariance (as in
PDAL's ``math::findNormal``, CloudCompare and py4dgeo).  The 3x3 eigenproblems are solved in
closed form for all positions at once; rows where that is ill-conditioned go to
``numpy.linalg.eigh``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from processing.change._common import (
    F32_PAD,
    Searcher,
    as_points,
    centre_of,
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


def pca_flat(rel: np.ndarray, row: np.ndarray, m: int, min_points: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Unoriented normals and neighbour counts of ``m`` query points from flat neighbour
    offsets ``rel`` (C, 3) relative to their query point ``row`` (C,).

    Moments about the query point rather than the centroid: |rel| <= radius keeps them well
    conditioned and saves a second pass.  Flat arrays and bincount beat padded (m, k)
    arrays here: only real neighbours are touched.
    """
    x, y, z = rel[:, 0], rel[:, 1], rel[:, 2]
    cnt = np.bincount(row, minlength=m)
    sc = np.maximum(cnt, 1)
    s = [np.bincount(row, weights=w, minlength=m) / sc
         for w in (x, y, z, x * x, x * y, x * z, y * y, y * z, z * z)]
    mx, my, mz = s[0], s[1], s[2]
    cov = np.empty((m, 3, 3))
    cov[:, 0, 0] = s[3] - mx * mx
    cov[:, 0, 1] = cov[:, 1, 0] = s[4] - mx * my
    cov[:, 0, 2] = cov[:, 2, 0] = s[5] - mx * mz
    cov[:, 1, 1] = s[6] - my * my
    cov[:, 1, 2] = cov[:, 2, 1] = s[7] - my * mz
    cov[:, 2, 2] = s[8] - mz * mz
    nrm = smallest_eigenvectors(cov)
    nrm[cnt < min_points] = np.nan
    return nrm, cnt


def ball_neighbours(padded3: np.ndarray, qi: np.ndarray, pid: np.ndarray, at: np.ndarray,
                    radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of the candidate pairs (query ``qi`` into ``at``, point ``pid``), those within
    ``radius`` in float64: (query, point, offset (C, 3), squared length)."""
    rel = np.take(padded3, pid, axis=0)
    rel -= np.take(at, qi, axis=0)
    d2 = np.einsum("ij,ij->i", rel, rel)
    inside = d2 <= radius * radius
    if not inside.all():  # the float32 padding band or a dual-tree superset
        qi, pid, rel, d2 = qi[inside], pid[inside], rel[inside], d2[inside]
    return qi, pid, rel, d2


def pca_normals_centred(searcher: Searcher, at: np.ndarray, radius: float,
                        min_points: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unoriented normals and neighbour counts at ``at`` (centred float64) from the points
    of ``searcher``."""
    normals = np.full((at.shape[0], 3), np.nan)
    counts = np.zeros(at.shape[0], dtype=np.int64)
    if searcher.n == 0 or at.shape[0] == 0:
        return normals, counts
    pad = F32_PAD * max(extent_of(searcher.points, at), radius)
    pts = padded(searcher.points)
    k0 = searcher.k_for(at, radius + pad)
    for rows, qi, pid in searcher.pairs(at, radius + pad, k0):
        row, _, rel, _ = ball_neighbours(pts, qi, pid, at[rows], radius)
        normals[rows], counts[rows] = pca_flat(rel, row, rows.size, min_points)
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
    normals, counts = pca_normals_centred(Searcher(pts - origin), pos - origin, radius,
                                          min_points)
    return orient(normals, pos, orientation), counts
