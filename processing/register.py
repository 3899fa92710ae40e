"""Registration of one epoch onto the reference epoch (both in the site frame).

Three modes, chosen per epoch in the manifest (``registration``):

- ``none``: the georeference is kept.  The residuals against the reference on the stable
  area are still measured and recorded, so the archive says how well the epochs agree.
- ``icp``: stable-area registration.  Trimmed point-to-plane ICP (only the best ``icp_overlap``
  share of correspondences counts in each iteration), then the points whose residual exceeds
  the level of detection (1.96·√2·σ, σ from the median absolute residual) are taken as real
  change and excluded, and the fit is repeated from the georeference on what is left, until the
  stable area has settled (at most one point in 10⁵ changes sides).  The registration runs only
  where the two epochs overlap (the reference's footprint), so a new epoch covering a larger
  area registers on the common part.
  A fit that does not reduce the residuals significantly (χ² test on the six parameters) is not
  applied: an aligned pair stays exactly where it is.
- ``control-points``: a 7-parameter Helmert (similarity) fit of ground control points with
  known coordinates, with the residual of every point.

Every transform is checked against ``registration_tolerance``: a transform that moves any
point further is refused, and with ``force`` it is stored with a warning that the provenance
keeps.  ICP runs with the reference centroid subtracted, so coordinates stay small; the
returned transform is in the site frame.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import open3d as o3d
from pykdtree.kdtree import KDTree

from processing.clean import voxel_downsample
from processing.errors import ProcessingError, RegistrationError
from processing.presets import Preset
from processing.types import Mesh, PointCloud

log = logging.getLogger(__name__)

_lreg = o3d.pipelines.registration

MODES = ("none", "icp", "control-points")
# χ²(6) at 99.9 %: a fit of six parameters to residuals that are pure noise lowers their sum
# of squares by about 6 σ²; a drop this much larger means the epochs really were misaligned.
_CHI2_6_999 = 22.458
_STABLE_ROUNDS = 4
# the stable area has settled when at most this share of the points (at least one) changed
# sides: a refit for one point in 10⁵ moved the demo's fits by 0.01-0.1 mm and cost 1.4 s
_SETTLED_SHARE = 1e-5
_NORMAL_LOD = 1.96 * np.sqrt(2.0)   # level of detection of one point-to-plane difference


@dataclass
class RegistrationResult:
    """Outcome of a registration; ``transform`` maps moving site coords onto the reference."""

    transform: np.ndarray            # (4, 4) float64
    mode: str                        # "none", "icp" or "control-points"
    method: str
    fitness: float                   # share of overlapping moving points with a correspondence
    inlier_rmse: float               # m, point-to-plane on the stable area (or control points)
    correspondences: int
    iterations: int = 0
    converged: bool = True
    overlap_share: float | None = None   # share of the moving points inside the reference area
    stable_share: float | None = None    # share of the overlapping points found stable
    level_of_detection: float | None = None  # m, residual above which a point is change
    rmse_before: float | None = None     # m, stable-area RMSE at the georeference
    significant: bool | None = None      # False: the fit was not applied (aligned already)
    max_shift: float = 0.0               # m, the furthest any moving point is moved
    tolerance: float | None = None       # m, registration_tolerance it was checked against
    coarse_fitness: float | None = None
    control_points: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    accepted_by_force: bool = False

    @property
    def translation(self) -> np.ndarray:
        return self.transform[:3, 3].copy()

    @property
    def rotation_deg(self) -> float:
        """Rotation angle of the transform in degrees."""
        r = self.transform[:3, :3]
        s = np.cbrt(np.linalg.det(r)) or 1.0
        c = (np.trace(r / s) - 1.0) / 2.0
        return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))

    @property
    def scale(self) -> float:
        return float(np.cbrt(np.linalg.det(self.transform[:3, :3])))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record for provenance."""
        d = dataclasses.asdict(self)
        d["transform"] = self.transform.tolist()
        d["translation"] = self.translation.tolist()
        d["rotation_deg"] = self.rotation_deg
        d["scale"] = self.scale
        return d


# --- geometry helpers ---------------------------------------------------------------------


def _moved(xyz: np.ndarray, t: np.ndarray) -> np.ndarray:
    return xyz @ t[:3, :3].T + t[:3, 3]


def max_shift(xyz: np.ndarray, transform: np.ndarray) -> float:
    """The largest distance any of ``xyz`` moves under ``transform``."""
    if len(xyz) == 0:
        return 0.0
    return float(np.sqrt(((_moved(xyz, transform) - xyz) ** 2).sum(axis=1).max()))


def _rotation(v: np.ndarray) -> np.ndarray:
    """Rotation matrix of the rotation vector ``v`` (Rodrigues)."""
    angle = float(np.linalg.norm(v))
    if angle < 1e-15:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def _thin(xyz: np.ndarray, voxel: float) -> np.ndarray:
    if voxel <= 0:
        return xyz
    return voxel_downsample(PointCloud(xyz=xyz, frame="site"), voxel)[0].xyz


def _median_spacing(xyz: np.ndarray, sample: int = 20000) -> float:
    """Median nearest-neighbour distance of a (sub)sample of the points."""
    step = max(1, len(xyz) // sample)
    tree = KDTree(np.ascontiguousarray(xyz))
    d, _ = tree.query(np.ascontiguousarray(xyz[::step]), k=2)
    return float(np.median(d[:, 1]))


def _normals(xyz: np.ndarray, k: int, chunk: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (pointing up) and roughness (σ of the neighbours about their plane) of
    every point, from its ``k`` nearest neighbours; in chunks, so memory stays bounded."""
    k = int(min(max(k, 4), len(xyz)))
    tree = KDTree(np.ascontiguousarray(xyz), leafsize=16)
    normals = np.empty_like(xyz, dtype=np.float64)
    rough = np.empty(len(xyz), dtype=np.float64)
    for start in range(0, len(xyz), chunk):
        part = slice(start, start + chunk)
        _, idx = tree.query(np.ascontiguousarray(xyz[part]), k=k)
        nb = xyz[idx.astype(np.int64)]
        nb = nb - nb.mean(axis=1, keepdims=True)
        w, v = np.linalg.eigh(np.einsum("nki,nkj->nij", nb, nb) / k)
        normals[part] = v[:, :, 0]
        rough[part] = np.sqrt(np.clip(w[:, 0], 0.0, None))
    normals[normals[:, 2] < 0] *= -1.0
    return normals, rough


def _footprint(ref: np.ndarray, cell: float) -> tuple[np.ndarray, float, np.ndarray]:
    """XY cells occupied by the reference, grown by one cell: the area it covers."""
    from scipy.ndimage import binary_dilation

    lo = ref[:, :2].min(axis=0) - cell
    keys = np.floor((ref[:, :2] - lo) / cell).astype(np.int64)
    grid = np.zeros(keys.max(axis=0) + 2, dtype=bool)
    grid[keys[:, 0], keys[:, 1]] = True
    return lo, cell, binary_dilation(grid, np.ones((3, 3), bool))


def _inside(xyz: np.ndarray, footprint) -> np.ndarray:
    lo, cell, grid = footprint
    keys = np.floor((xyz[:, :2] - lo) / cell).astype(np.int64)
    ok = (keys >= 0).all(axis=1) & (keys[:, 0] < grid.shape[0]) & (keys[:, 1] < grid.shape[1])
    out = np.zeros(len(xyz), dtype=bool)
    out[ok] = grid[keys[ok, 0], keys[ok, 1]]
    return out


class _Reference:
    """The reference points, their normals, roughness and a k-d tree (centred coordinates)."""

    def __init__(self, xyz: np.ndarray, k: int, noise_floor: float, accuracy: float):
        self.xyz = xyz
        self.normals, rough = _normals(xyz, k)
        # level of detection of one point's difference: 1.96·√2·σ (both epochs' noise) plus
        # the accuracy the georeference is expected to have
        self.lod = _NORMAL_LOD * np.maximum(rough, noise_floor) + accuracy
        self.tree = KDTree(np.ascontiguousarray(xyz), leafsize=16)

    def residuals(self, p: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
        """(has a neighbour within max_distance, index, signed point-to-plane residual)."""
        d, j = self.tree.query(np.ascontiguousarray(p), k=1, distance_upper_bound=max_distance)
        ok = np.isfinite(d) & (d <= max_distance)
        j = np.where(ok, j, 0).astype(np.int64)
        r = np.einsum("ij,ij->i", p - self.xyz[j], self.normals[j])
        return ok, j, np.where(ok, r, np.nan)

    def stable(self, p: np.ndarray, max_distance: float) -> np.ndarray:
        """Points whose difference to the reference is below the level of detection."""
        ok, j, r = self.residuals(p, max_distance)
        return ok & (np.abs(np.nan_to_num(r, nan=np.inf)) <= self.lod[j])


def _icp(src: np.ndarray, ref: _Reference, init: np.ndarray, max_distance: float,
         overlap: float, iterations: int, tolerance: float) -> tuple[np.ndarray, int, bool]:
    """Trimmed point-to-plane ICP: each step solves the linearised 6-parameter problem on the
    ``overlap`` share of correspondences with the smallest residuals.

    The solve is damped towards ``init`` (a ridge of 10⁻³ of the mean eigenvalue, rotation
    scaled to metres at the cloud's radius): directions the scene hardly constrains (sliding
    along a gentle slope) keep the georeference instead of drifting with the noise."""
    t = init.copy()
    centre = src.mean(axis=0)
    radius = max(float(np.sqrt(((src - centre) ** 2).sum(axis=1).mean())), 1.0)
    for it in range(1, iterations + 1):
        p = _moved(src, t)
        ok, j, r = ref.residuals(p, max_distance)
        idx = np.flatnonzero(ok)
        if len(idx) < 6:
            raise RegistrationError(
                f"registration failed: only {len(idx)} point pairs within {max_distance:.3f} m; "
                "the epochs may not overlap, or their georeference differs by more than that: "
                "check the CRS and origin, set coarse_registration = true, or widen "
                "icp_max_distance")
        keep = max(6, int(np.ceil(overlap * len(idx))))
        if keep < len(idx):
            idx = idx[np.argpartition(np.abs(r[idx]), keep - 1)[:keep]]
        n = ref.normals[j[idx]]
        a = np.hstack([np.cross(p[idx], n) / radius, n])
        h = a.T @ a
        mu = 1e-3 * np.trace(h) / 6.0
        rel = t @ np.linalg.inv(init)                   # the motion so far, damped towards 0
        so_far = np.concatenate([_rotvec(rel[:3, :3]) * radius, rel[:3, 3]])
        x = np.linalg.solve(h + mu * np.eye(6), -a.T @ r[idx] - mu * so_far)
        step = np.eye(4)
        step[:3, :3] = _rotation(x[:3] / radius)
        step[:3, 3] = x[3:]
        t = step @ t
        if np.linalg.norm(x[:3]) / radius < 1e-7 and np.linalg.norm(x[3:]) < tolerance:
            return t, it, True
    return t, iterations, False


def _rotvec(rot: np.ndarray) -> np.ndarray:
    """Rotation vector of a rotation matrix."""
    angle = np.arccos(np.clip((np.trace(rot) - 1) / 2, -1, 1))
    w = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    return w / (2 * np.sin(angle)) * angle if angle > 1e-9 else w / 2


def _stable_fit(src: np.ndarray, ref: _Reference, init: np.ndarray, max_distance: float,
                preset: Preset) -> dict[str, Any]:
    """Register, find significant change, exclude it, register again from ``init``.

    The stable area is first found at the georeference (the level of detection includes the
    accuracy the georeference is expected to have), so change is excluded before it can pull
    the fit; each round refits from ``init`` on the points stable under the last fit, until
    (almost) no point changes sides (``_SETTLED_SHARE``)."""
    stable = ref.stable(_moved(src, init), max_distance)
    if stable.sum() < 0.2 * len(src):        # badly aligned to start with: use every point
        stable = np.ones(len(src), dtype=bool)
    t, iterations, converged = init, 0, True
    for _ in range(_STABLE_ROUNDS):
        if stable.sum() < 6:
            break
        t, n_it, converged = _icp(src[stable], ref, init, max_distance, preset.icp_overlap,
                                  preset.icp_max_iterations, 1e-5)
        iterations += n_it
        new = ref.stable(_moved(src, t), max_distance)
        if np.count_nonzero(new != stable) <= max(1.0, _SETTLED_SHARE * len(src)):
            break
        stable = new
    return {"transform": t, "iterations": iterations, "converged": converged}


def _generalises(src: np.ndarray, ref: _Reference, init: np.ndarray, max_distance: float,
                 preset: Preset, cell: float) -> bool:
    """Does a fit explain something real?  Split-half cross-validation on a checkerboard of
    ``cell``-sized XY blocks: the motion fitted on one half must lower the residuals of the
    other half (on the points stable under either pose) in both directions.  A fit to noise
    (an aligned pair) does not carry over to points it has not seen."""
    b = np.floor(src[:, :2] / cell).astype(np.int64)
    half = (b[:, 0] + b[:, 1]) % 2 == 0
    for fit_on in (half, ~half):
        test = src[~fit_on]
        if fit_on.sum() < 12 or len(test) < 12:
            return True                       # too small to split: trust the fit
        t = _stable_fit(src[fit_on], ref, init, max_distance, preset)["transform"]
        _, j0, r0 = ref.residuals(_moved(test, init), max_distance)
        _, j1, r1 = ref.residuals(_moved(test, t), max_distance)
        use = np.isfinite(r0) & np.isfinite(r1) & (
            (np.abs(np.nan_to_num(r0)) <= ref.lod[j0]) | (np.abs(np.nan_to_num(r1)) <= ref.lod[j1]))
        if use.sum() < 6 or np.mean(r1[use] ** 2) >= 0.98 * np.mean(r0[use] ** 2):
            return False
    return True


def _rss(src: np.ndarray, ref: _Reference, t: np.ndarray, max_distance: float) -> np.ndarray:
    """Point-to-plane residuals of ``src`` moved by ``t`` (NaN where no partner)."""
    return ref.residuals(_moved(src, t), max_distance)[2]


def _coarse(src: np.ndarray, dst: np.ndarray, preset: Preset) -> tuple[np.ndarray, float]:
    """FPFH + RANSAC on coarse voxel copies (centred coordinates)."""
    v = preset.coarse_voxel_size

    def prep(xyz: np.ndarray) -> tuple[o3d.geometry.PointCloud, Any]:
        thin = voxel_downsample(PointCloud(xyz=xyz, frame="site"), v)[0].xyz
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(thin))
        pcd.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(
            radius=v * preset.coarse_normal_radius_factor, max_nn=30))
        feat = _lreg.compute_fpfh_feature(pcd, o3d.geometry.KDTreeSearchParamHybrid(
            radius=v * preset.coarse_feature_radius_factor, max_nn=100))
        return pcd, feat

    (ps, fs), (pt, ft) = prep(src), prep(dst)
    dist = v * preset.coarse_distance_factor
    o3d.utility.random.seed(preset.coarse_seed)
    res = _lreg.registration_ransac_based_on_feature_matching(
        ps, pt, fs, ft, True, dist,
        _lreg.TransformationEstimationPointToPoint(False), 3,
        [_lreg.CorrespondenceCheckerBasedOnEdgeLength(0.9),
         _lreg.CorrespondenceCheckerBasedOnDistance(dist)],
        _lreg.RANSACConvergenceCriteria(preset.coarse_max_iterations, preset.coarse_confidence))
    return np.asarray(res.transformation, dtype=np.float64), float(res.fitness)


def _check_clouds(moving: PointCloud, reference: PointCloud) -> None:
    for name, c in (("moving", moving), ("reference", reference)):
        if c.frame != "site":
            raise ProcessingError(f"register: the {name} cloud is not in the site frame; "
                                  "convert it with processing.georef.to_site_frame first")
        if len(c) < 10:
            raise ProcessingError(f"register: the {name} cloud has only {len(c)} points")


def _centred(t_local: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """T = C · T_local · C⁻¹ with C the translation by ``centre``."""
    to_site, from_site = np.eye(4), np.eye(4)
    to_site[:3, 3], from_site[:3, 3] = centre, -centre
    return to_site @ t_local @ from_site


def register(moving: PointCloud, reference: PointCloud, preset: Preset,
             coarse: bool | None = None, force: bool = False,
             mode: str = "icp") -> RegistrationResult:
    """Register ``moving`` onto ``reference`` (both in the site frame) in ``mode`` ``"icp"``
    (stable-area registration) or ``"none"`` (measure only, identity transform).

    ``coarse=None`` follows ``preset.coarse_registration``.  Raises :class:`RegistrationError`
    with the figures when the stable-area RMSE exceeds ``preset.icp_rmse_limit``, the overlap
    fitness is below ``preset.icp_min_fitness`` or the transform moves points further than
    ``preset.registration_tolerance``, unless ``force`` (then the result carries warnings).
    """
    if mode not in ("icp", "none"):
        raise ProcessingError(f"register: unknown mode {mode!r}; use one of {', '.join(MODES)}")
    _check_clouds(moving, reference)
    coarse = (preset.coarse_registration if coarse is None else coarse) and mode == "icp"
    centre = reference.xyz.mean(axis=0)
    dst = _thin(reference.xyz - centre, preset.icp_voxel_size)
    src_all = _thin(moving.xyz - centre, preset.icp_voxel_size)

    # A sparse reference (airborne points ~1 m apart) has no neighbour within a TLS-sized
    # correspondence distance: search at least twice the reference's own point spacing.
    spacing = _median_spacing(dst)
    max_distance = max(preset.icp_max_distance, 2.0 * spacing)
    ref = _Reference(dst, min(preset.normal_max_nn, 16), noise_floor=0.005,
                     accuracy=preset.icp_rmse_limit)
    # Register on the overlap: the moving points over the reference's area (XY cells).
    inside = _inside(src_all, _footprint(dst, max(4.0 * spacing, 2.0 * max_distance)))
    src = src_all[inside]
    overlap_share = float(inside.mean())
    if len(src) < 10:
        raise RegistrationError(
            f"registration failed: only {len(src)} of {len(src_all)} points of this epoch lie "
            "over the reference epoch's area; the epochs do not overlap. Check the CRS and "
            "origin of both, or give the site a boundary that both epochs cover")

    init, coarse_fitness = np.eye(4), None
    if coarse:
        init, coarse_fitness = _coarse(moving.xyz - centre, reference.xyz - centre, preset)
        log.info("coarse registration: fitness %.3f", coarse_fitness)

    fit = _stable_fit(src, ref, init, max_distance, preset)
    significant = coarse or mode != "icp" or _generalises(
        src, ref, init, max_distance, preset, cell=max(5.0, 10.0 * spacing))
    t_local = fit["transform"] if mode == "icp" and significant else np.eye(4)
    warnings: list[str] = []
    shift = max_shift(moving.xyz, _centred(t_local, centre))
    if shift > preset.registration_tolerance:
        what = (f"the stable-area fit would move points by up to {shift:.3f} m > "
                f"registration_tolerance {preset.registration_tolerance:.3f} m")
        if coarse:
            # asked for: the epoch is known to be badly placed; stored, and said so
            warnings.append(f"coarse_registration = true: {what}; applied")
        elif not force:
            # Not a refinement of a georeference: applying it would absorb real change.
            warnings.append(f"{what}: not applied, georeference kept (raise "
                            "registration_tolerance in the epoch's overrides, or use --force, "
                            "if the epoch really is misaligned by that much)")
            t_local = np.eye(4)
        else:
            warnings.append(f"accepted with --force: {what}")
    stable = ref.stable(_moved(src, t_local), max_distance)
    r_before = _rss(src[stable], ref, np.eye(4), max_distance)
    r_final = _rss(src[stable], ref, t_local, max_distance)
    has_pair = ref.residuals(_moved(src, t_local), max_distance)[0]
    n_pairs = int(np.isfinite(r_final).sum())
    rmse = float(np.sqrt(np.nanmean(r_final ** 2))) if n_pairs else 0.0
    transform = _centred(t_local, centre)
    result = RegistrationResult(
        transform=transform, mode=mode,
        method=("fpfh-ransac+" if coarse else "") + "stable-area-trimmed-icp-point-to-plane"
        if mode == "icp" else "georeference kept (residuals measured)",
        fitness=float(has_pair.mean()), inlier_rmse=rmse, correspondences=n_pairs,
        iterations=fit["iterations"], converged=fit["converged"],
        overlap_share=overlap_share,
        stable_share=float(stable.mean()),
        level_of_detection=float(np.median(ref.lod)),
        rmse_before=float(np.sqrt(np.nanmean(r_before ** 2))) if n_pairs else 0.0,
        significant=bool(significant) if mode == "icp" else None,
        max_shift=max_shift(moving.xyz, transform),
        tolerance=preset.registration_tolerance, coarse_fitness=coarse_fitness,
        warnings=warnings, accepted_by_force=bool(force and not coarse and warnings))
    log.info("registration (%s): rmse %.4f m (before %.4f), fitness %.3f, stable %.2f, "
             "shift up to %.4f m, %s", mode, result.inlier_rmse, result.rmse_before,
             result.fitness, result.stable_share, result.max_shift,
             "applied" if mode == "icp" and significant else "identity kept")

    problems = []
    if result.inlier_rmse > preset.icp_rmse_limit:
        problems.append(f"stable-area RMSE {result.inlier_rmse:.4f} m > icp_rmse_limit "
                        f"{preset.icp_rmse_limit:.4f} m")
    if result.fitness < preset.icp_min_fitness:
        problems.append(f"fitness {result.fitness:.3f} < icp_min_fitness "
                        f"{preset.icp_min_fitness:.3f} (only this share of the "
                        f"{len(src)} points over the reference's area found a partner)")
    if not np.array_equal(t_local, np.eye(4)):
        if problems:
            _refuse_or_warn(result, problems, force, hint=(
                "Check the epoch's CRS/origin; give the site a boundary so both epochs cover "
                "the same area; lower icp_min_fitness or raise icp_rmse_limit / "
                "registration_tolerance in the epoch's overrides if the figures are expected; "
                'or keep the georeference with registration = "none"'))
    elif problems:
        # Nothing moves: the figures describe how the epochs differ, they refuse nothing.
        result.warnings.extend(f"georeference kept; {p}" for p in problems)
    return result


def _refuse_or_warn(result: RegistrationResult, problems: list[str], force: bool,
                    hint: str) -> None:
    if not force:
        err = RegistrationError(f"registration ({result.mode}) refused: " + "; ".join(problems)
                                + f". {hint}, or store it anyway with --force (recorded as a "
                                "warning)")
        err.result = result
        raise err
    result.accepted_by_force = True
    result.warnings.extend(f"accepted with --force: {p}" for p in problems)
    log.warning("registration accepted by force: %s", "; ".join(problems))


# --- control points -----------------------------------------------------------------------


def helmert(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """7-parameter similarity (rotation, translation, one scale) mapping ``source`` onto
    ``target`` in the least-squares sense (Umeyama 1991); returns (4x4 transform, residual
    vectors target − T(source))."""
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    cov = b.T @ a / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2, 2] = -1.0
    r = u @ d @ vt
    var = (a * a).sum() / len(src)
    scale = float(np.trace(np.diag(s) @ d) / var)
    t = np.eye(4)
    t[:3, :3] = scale * r
    t[:3, 3] = md - scale * r @ ms
    return t, dst - _moved(src, t)


def register_control_points(moving_xyz: np.ndarray, ids: list[str], measured: np.ndarray,
                            known: np.ndarray, preset: Preset, *,
                            force: bool = False) -> RegistrationResult:
    """Helmert fit of control points: ``measured`` (the epoch's frame) onto ``known`` (the site
    frame).  Refused when fewer than 3 points, when they lie on a line, or when a residual
    exceeds ``control_point_max_residual``."""
    measured = np.asarray(measured, np.float64)
    known = np.asarray(known, np.float64)
    if len(measured) < 3:
        raise RegistrationError(f'registration = "control-points" needs at least 3 control '
                                f"points; the manifest lists {len(measured)}")
    sv = np.linalg.svd(measured - measured.mean(axis=0), compute_uv=False)
    if sv[1] < 1e-6 * max(sv[0], 1e-12):
        raise RegistrationError("the control points lie on one line, so they fix no rotation "
                                "about it; add a control point off that line")
    t, res = helmert(measured, known)
    dist = np.linalg.norm(res, axis=1)
    result = RegistrationResult(
        transform=t, mode="control-points", method="helmert-7-parameter",
        fitness=1.0, inlier_rmse=float(np.sqrt(np.mean(dist ** 2))),
        correspondences=len(measured),
        control_points=[{"id": i, "residual": v.tolist(), "residual_m": float(d)}
                        for i, v, d in zip(ids, res, dist, strict=True)],
        max_shift=max_shift(moving_xyz, t) if len(moving_xyz) else 0.0)
    log.info("control points: rmse %.4f m, scale %.6f, rotation %.4f°", result.inlier_rmse,
             result.scale, result.rotation_deg)
    worst = int(np.argmax(dist))
    if dist[worst] > preset.control_point_max_residual:
        _refuse_or_warn(result, [
            f"control point {ids[worst]!r} misses its known position by {dist[worst]:.4f} m "
            f"> control_point_max_residual {preset.control_point_max_residual:.4f} m (RMS "
            f"{result.inlier_rmse:.4f} m over {len(ids)} points)"], force,
            hint="Check that point's measured and known coordinates in the manifest")
    return result


def apply_transform(obj: PointCloud | Mesh, transform: np.ndarray) -> PointCloud | Mesh:
    """A copy of ``obj`` with positions (and normals) moved by the 4x4 ``transform``."""
    t = np.asarray(transform, dtype=np.float64)
    if t.shape != (4, 4):
        raise ProcessingError(f"transform must be 4x4, got {t.shape}")
    r, s = t[:3, :3], t[:3, 3]
    if isinstance(obj, PointCloud):
        out = dataclasses.replace(obj, xyz=obj.xyz @ r.T + s, extra=dict(obj.extra))
    else:
        out = dataclasses.replace(obj, vertices=np.asarray(obj.vertices, np.float64) @ r.T + s)
    if obj.normals is not None:
        out.normals = (obj.normals.astype(np.float64) @ r.T).astype(np.float32)
    return out
