"""Point-cloud cleaning stages: crop to the site boundary, drop noise classes, remove
statistical outliers, voxel downsampling.

Every stage takes a :class:`PointCloud` in the site frame and returns ``(cloud, removed)`` where
``removed`` is the number of points it took away, for provenance.  All work is vectorised;
the only Python loop runs over polygon edges, never over points.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pykdtree.kdtree import KDTree

from processing.errors import ProcessingError
from processing.presets import Preset
from processing.types import PointCloud

log = logging.getLogger(__name__)

# k-NN queries are chunked so the (n, k) distance/index arrays stay ~tens of MB
_KNN_CHUNK = 200_000


def _rings(polygon: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """One (K, 2) array or a list of them (outer ring + holes) -> list of open rings."""
    arr = polygon if isinstance(polygon, np.ndarray) else None
    rings = [arr] if arr is not None and arr.ndim == 2 else list(polygon)
    out = []
    for r in rings:
        r = np.asarray(r, dtype=np.float64)
        if r.ndim != 2 or r.shape[1] < 2 or len(r) < 3:
            raise ProcessingError(
                f"boundary polygon needs at least 3 (x, y) vertices, got shape {r.shape}")
        r = r[:, :2]
        if np.array_equal(r[0], r[-1]):        # closed rings repeat the first vertex
            r = r[:-1]
        out.append(r)
    return out


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Even-odd rule point-in-polygon for many points; ``polygon`` may hold holes as extra rings.

    Points are sorted by y once; each edge then only touches the contiguous run of points whose
    y lies in its half-open span [ymin, ymax), so the cost is ~N·(edges crossing a scanline)
    instead of N·edges.  Points exactly on an edge may fall either way.
    """
    xy = np.asarray(xy, dtype=np.float64)
    rings = _rings(polygon)
    a = np.concatenate(rings)
    b = np.concatenate([np.roll(r, -1, axis=0) for r in rings])
    inside = np.zeros(len(xy), dtype=bool)
    lo, hi = a.min(axis=0), a.max(axis=0)
    cand = np.flatnonzero((xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0])
                          & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1]))
    if cand.size == 0:
        return inside
    order = cand[np.argsort(xy[cand, 1])]
    xs, ys = xy[order, 0], xy[order, 1]
    flat = a[:, 1] != b[:, 1]                   # horizontal edges never cross a scanline
    a, b = a[flat], b[flat]
    ymin, ymax = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    starts, stops = np.searchsorted(ys, ymin), np.searchsorted(ys, ymax)
    slope = (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    flags = np.zeros(len(order), dtype=bool)
    for i in np.flatnonzero(stops > starts):    # loop over edges, vectorised over points
        s, e = starts[i], stops[i]
        x_cross = a[i, 0] + (ys[s:e] - a[i, 1]) * slope[i]
        flags[s:e] ^= xs[s:e] < x_cross
    inside[order] = flags
    return inside


def crop_to_polygon(cloud: PointCloud,
                    polygon: np.ndarray | Sequence[np.ndarray]) -> tuple[PointCloud, int]:
    """Keep the points whose XY lies inside ``polygon`` (site frame; rings after the first are
    holes).  Returns the cropped cloud and the number of points removed."""
    if cloud.frame != "site":
        raise ProcessingError(
            "crop_to_polygon needs a cloud in the site frame (the boundary is site-local); "
            "convert it with processing.georef.to_site_frame first")
    keep = points_in_polygon(cloud.xyz[:, :2], polygon)
    return _keep(cloud, keep)


def drop_classes(cloud: PointCloud, classes: Sequence[int]) -> tuple[PointCloud, int]:
    """Remove points of the given ASPRS classes (e.g. 7 low noise, 18 high noise)."""
    if cloud.classification is None or len(classes) == 0:
        return cloud, 0
    # a 256-entry lookup table beats np.isin for uint8 classes
    lut = np.zeros(256, dtype=bool)
    lut[np.asarray(classes, dtype=np.int64)] = True
    return _keep(cloud, ~lut[cloud.classification.astype(np.uint8, copy=False)])


def mean_knn_distance(xyz: np.ndarray, k: int) -> np.ndarray:
    """Mean distance of each point to its ``k`` nearest other points (float32 tree: pykdtree
    in float32 is ~2x faster than float64 and site-frame coordinates keep mm precision)."""
    pts = np.ascontiguousarray(xyz - xyz.mean(axis=0), dtype=np.float32)
    tree = KDTree(pts, leafsize=16)
    out = np.empty(len(pts), dtype=np.float64)
    for s in range(0, len(pts), _KNN_CHUNK):
        d, _ = tree.query(pts[s:s + _KNN_CHUNK], k=k + 1)
        out[s:s + _KNN_CHUNK] = d[:, 1:].mean(axis=1)   # column 0 is the point itself
    return out


def remove_statistical_outliers(cloud: PointCloud, nb_neighbors: int,
                                std_ratio: float) -> tuple[PointCloud, int]:
    """Drop points whose mean distance to their ``nb_neighbors`` nearest neighbours exceeds the
    global mean by more than ``std_ratio`` standard deviations (Open3D's rule, but excluding
    the point itself from its neighbours; pykdtree measured 2.4x faster than Open3D)."""
    n = len(cloud)
    if n <= nb_neighbors:
        return cloud, 0
    d = mean_knn_distance(cloud.xyz, nb_neighbors)
    threshold = d.mean() + std_ratio * d.std(ddof=1)
    return _keep(cloud, d < threshold)


def voxel_downsample(cloud: PointCloud, voxel_size: float) -> tuple[PointCloud, int]:
    """One point per occupied voxel: mean position, colour, intensity and normal; majority
    classification; other per-point arrays from one representative point.

    Integer voxel keys are packed into one int64, made unique once, and averaged with
    ``np.bincount`` (measured 6x faster than Open3D's voxel_down_sample).  Output is in
    voxel-key order.
    """
    n = len(cloud)
    if voxel_size <= 0 or n == 0:
        return cloud, 0
    xyz = cloud.xyz
    tmp = np.subtract(xyz, xyz.min(axis=0))
    tmp /= voxel_size
    np.floor(tmp, out=tmp)
    keys = tmp.astype(np.int64)
    del tmp
    dims = keys.max(axis=0) + 1
    if float(dims[0]) * float(dims[1]) * float(dims[2]) >= 2.0**62:
        raise ProcessingError(
            f"voxel size {voxel_size} m is too small for a cloud of extent "
            f"{np.ptp(xyz, axis=0).round(1).tolist()} m; raise voxel_size")
    packed = (keys[:, 0] * dims[1] + keys[:, 1]) * dims[2] + keys[:, 2]
    del keys
    _, inv, counts = np.unique(packed, return_inverse=True, return_counts=True)
    m = len(counts)
    if m == n:
        return cloud, 0
    # per-column bincount measured ~3x faster than np.add.reduceat over a gathered copy
    def mean(a: np.ndarray) -> np.ndarray:
        if a.ndim == 1:
            return np.bincount(inv, a, minlength=m) / counts
        return np.stack([np.bincount(inv, a[:, i], minlength=m) for i in range(a.shape[1])],
                        axis=1) / counts[:, None]

    rep = np.empty(m, dtype=np.int64)
    rep[inv] = np.arange(n)                     # one representative point per voxel
    out = PointCloud(xyz=mean(xyz), crs=cloud.crs, frame=cloud.frame, source=cloud.source)
    if cloud.rgb is not None:
        out.rgb = np.rint(mean(cloud.rgb)).astype(cloud.rgb.dtype)
    if cloud.intensity is not None:
        out.intensity = np.rint(mean(cloud.intensity)).astype(cloud.intensity.dtype)
    if cloud.normals is not None:
        nrm = mean(cloud.normals)
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        out.normals = (nrm / np.where(length > 0, length, 1.0)).astype(np.float32)
    if cloud.classification is not None:
        out.classification = _majority(cloud.classification, inv, counts, rep)
    out.extra = {k: v[rep] for k, v in cloud.extra.items()}
    return out, n - m


def _majority(cls: np.ndarray, inv: np.ndarray, counts: np.ndarray,
              rep: np.ndarray) -> np.ndarray:
    """Most frequent class per voxel; only voxels with mixed classes pay for a sort."""
    result = cls[rep].copy()
    c = cls.astype(np.float64)
    s1 = np.bincount(inv, c, minlength=len(counts))
    s2 = np.bincount(inv, c * c, minlength=len(counts))
    mixed = counts * s2 != s1 * s1               # zero variance <=> one class (exact in f64)
    if not mixed.any():
        return result
    sel = mixed[inv]
    key = inv[sel].astype(np.int64) * 256 + cls[sel]
    uk, cnt = np.unique(key, return_counts=True)
    g, k = uk // 256, uk % 256
    best = np.lexsort((-cnt, g))                # per voxel: most frequent class first
    first = np.concatenate(([True], g[best][1:] != g[best][:-1]))
    result[g[best][first]] = k[best][first].astype(cls.dtype)
    return result


def clean_points(cloud: PointCloud, preset: Preset,
                 boundary: np.ndarray | Sequence[np.ndarray] | None = None,
                 ) -> tuple[PointCloud, dict[str, int]]:
    """Run the cleaning stages in order (crop, noise classes, outliers, voxel) as the preset
    says; outliers are judged at native density, before thinning.  Returns the cloud and the
    number of points each stage removed."""
    stats = {"points_in": len(cloud)}
    if preset.crop_to_boundary and boundary is not None:
        cloud, stats["outside_boundary"] = crop_to_polygon(cloud, boundary)
    cloud, stats["noise_class"] = drop_classes(cloud, preset.drop_classes)
    if preset.outlier_removal:
        cloud, stats["statistical_outliers"] = remove_statistical_outliers(
            cloud, preset.outlier_nb_neighbors, preset.outlier_std_ratio)
    cloud, stats["voxel_merged"] = voxel_downsample(cloud, preset.voxel_size)
    stats["points_out"] = len(cloud)
    if len(cloud) == 0:
        raise ProcessingError(
            "no points left after cleaning (" + ", ".join(f"{k}={v}" for k, v in stats.items())
            + "); check the site boundary, the CRS/origin and the preset's drop_classes")
    log.info("cleaning: %s", stats)
    return cloud, stats


def _keep(cloud: PointCloud, keep: np.ndarray) -> tuple[PointCloud, int]:
    removed = int(len(keep) - np.count_nonzero(keep))
    return (cloud if removed == 0 else cloud.subset(keep)), removed
