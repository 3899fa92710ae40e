"""Registration of one epoch onto the reference epoch (both in the site frame).

The georeference is trusted as the initial guess (identity); an optional coarse step (FPFH
features + RANSAC, Open3D) handles epochs whose georeference is off by more than the ICP
capture range.  The fine step is point-to-plane ICP (Open3D ``o3d.t``, float64) on
voxel-downsampled copies (numpy voxel grid, see ``processing.clean``).  Everything runs with
the reference centroid subtracted, so coordinates are a few hundred metres at most and float
precision is never the limit; the returned transform is expressed back in the site frame.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import open3d as o3d
from pykdtree.kdtree import KDTree

from processing.clean import voxel_downsample
from processing.errors import ProcessingError, RegistrationError
from processing.presets import Preset
from processing.types import Mesh, PointCloud

log = logging.getLogger(__name__)

_treg = o3d.t.pipelines.registration
_lreg = o3d.pipelines.registration


@dataclass
class RegistrationResult:
    """Outcome of :func:`register`; ``transform`` maps moving site coords onto the reference."""

    transform: np.ndarray            # (4, 4) float64
    fitness: float                   # fraction of moving points with a correspondence
    inlier_rmse: float               # metres, point-to-plane, over the correspondences
    correspondences: int
    iterations: int
    method: str                      # "icp-point-to-plane" or "fpfh-ransac+icp-point-to-plane"
    converged: bool = True
    coarse_fitness: float | None = None
    nn_rmse: float | None = None     # Open3D's point-to-point RMSE (includes sampling spacing)
    accepted_by_force: bool = False

    @property
    def translation(self) -> np.ndarray:
        return self.transform[:3, 3].copy()

    @property
    def rotation_deg(self) -> float:
        """Rotation angle of the transform in degrees."""
        c = (np.trace(self.transform[:3, :3]) - 1.0) / 2.0
        return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record for provenance."""
        d = dataclasses.asdict(self)
        d["transform"] = self.transform.tolist()
        d["translation"] = self.translation.tolist()
        d["rotation_deg"] = self.rotation_deg
        return d


def _tcloud(xyz: np.ndarray) -> o3d.t.geometry.PointCloud:
    return o3d.t.geometry.PointCloud(o3d.core.Tensor(np.ascontiguousarray(xyz, np.float64)))


def _thin(cloud: PointCloud, voxel: float, centre: np.ndarray) -> np.ndarray:
    xyz = cloud.xyz if voxel <= 0 else voxel_downsample(
        PointCloud(xyz=cloud.xyz, frame=cloud.frame), voxel)[0].xyz
    return xyz - centre


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


def _point_to_plane_residuals(src: np.ndarray, dst: np.ndarray, dst_normals: np.ndarray,
                              max_distance: float) -> tuple[float, float, int]:
    """RMSE of point-to-plane distances to the nearest reference point within ``max_distance``.

    Open3D reports the point-to-point RMSE, which for two independent samplings of the same
    surface is about half the sample spacing even when the fit is perfect; the distance to the
    local tangent plane measures the misfit itself and is what the limit is compared with."""
    tree = KDTree(np.ascontiguousarray(dst, dtype=np.float64), leafsize=16)
    d, j = tree.query(np.ascontiguousarray(src, dtype=np.float64), k=1,
                      distance_upper_bound=max_distance)
    ok = np.isfinite(d) & (d <= max_distance)
    if not ok.any():
        return 0.0, 0.0, 0
    jj = j[ok].astype(np.int64)
    r = np.einsum("ij,ij->i", src[ok] - dst[jj], dst_normals[jj])
    return float(np.sqrt(np.mean(r * r))), float(ok.mean()), int(ok.sum())


def _median_spacing(xyz: np.ndarray, sample: int = 20000) -> float:
    """Median nearest-neighbour distance of a (sub)sample of the points."""
    step = max(1, len(xyz) // sample)
    tree = KDTree(np.ascontiguousarray(xyz))
    d, _ = tree.query(np.ascontiguousarray(xyz[::step]), k=2)
    return float(np.median(d[:, 1]))


def register(moving: PointCloud, reference: PointCloud, preset: Preset,
             coarse: bool | None = None, force: bool = False) -> RegistrationResult:
    """Transform (site frame) that maps ``moving`` onto ``reference``.

    ``coarse=None`` follows ``preset.coarse_registration``.  Raises :class:`RegistrationError`
    with the figures when the inlier RMSE exceeds ``preset.icp_rmse_limit`` or the fitness is
    below ``preset.icp_min_fitness``, unless ``force`` (then the result is flagged).
    """
    for name, c in (("moving", moving), ("reference", reference)):
        if c.frame != "site":
            raise ProcessingError(f"register: the {name} cloud is not in the site frame; "
                                  "convert it with processing.georef.to_site_frame first")
        if len(c) < 10:
            raise ProcessingError(f"register: the {name} cloud has only {len(c)} points")
    coarse = preset.coarse_registration if coarse is None else coarse
    centre = reference.xyz.mean(axis=0)
    src = _thin(moving, preset.icp_voxel_size, centre)
    dst = _thin(reference, preset.icp_voxel_size, centre)

    init = np.eye(4)
    coarse_fitness = None
    if coarse:
        init, coarse_fitness = _coarse(moving.xyz - centre, reference.xyz - centre, preset)
        log.info("coarse registration: fitness %.3f", coarse_fitness)

    # A sparse reference (airborne points ~1 m apart) has no neighbour within a TLS-sized
    # correspondence distance: search at least twice the reference's own point spacing.
    spacing = _median_spacing(dst)
    max_distance = max(preset.icp_max_distance, 2.0 * spacing)
    if max_distance > preset.icp_max_distance:
        log.info("ICP correspondence distance widened to %.3f m (reference spacing %.3f m)",
                 max_distance, spacing)
    target = _tcloud(dst)
    target.estimate_normals(max_nn=preset.normal_max_nn,
                            radius=max(preset.normal_radius, 2.0 * preset.icp_voxel_size,
                                       3.0 * spacing))
    try:
        res = _treg.icp(
            _tcloud(src), target, max_distance, o3d.core.Tensor(init),
            _treg.TransformationEstimationPointToPlane(),
            _treg.ICPConvergenceCriteria(relative_fitness=1e-7,
                                         relative_rmse=preset.icp_relative_rmse,
                                         max_iteration=preset.icp_max_iterations))
    except RuntimeError as exc:  # Open3D: singular system, i.e. too few or planar pairs
        raise RegistrationError(
            f"registration failed: ICP found too few usable correspondences within "
            f"{max_distance:.3f} m ({str(exc).strip().splitlines()[0][:120]}). The epochs may "
            "not overlap, or their georeference differs by more than that: check the CRS and "
            "origin, set coarse_registration = true, or widen icp_max_distance") from None
    t_local = res.transformation.numpy().astype(np.float64)
    rmse, fitness, n_corr = _point_to_plane_residuals(
        src @ t_local[:3, :3].T + t_local[:3, 3], dst, target.point.normals.numpy(),
        max_distance)
    # back to the site frame: T = C · T_local · C⁻¹ with C the translation by the centre
    to_site = np.eye(4)
    to_site[:3, 3] = centre
    from_site = np.eye(4)
    from_site[:3, 3] = -centre
    result = RegistrationResult(
        transform=to_site @ t_local @ from_site, fitness=fitness, inlier_rmse=rmse,
        correspondences=n_corr, iterations=int(res.num_iterations),
        method=("fpfh-ransac+" if coarse else "") + "icp-point-to-plane",
        converged=bool(res.converged), coarse_fitness=coarse_fitness,
        nn_rmse=float(res.inlier_rmse))
    log.info("registration: rmse %.4f m, fitness %.3f, %d iterations, shift %s m, %.4f deg",
             result.inlier_rmse, result.fitness, result.iterations,
             np.round(result.translation, 4).tolist(), result.rotation_deg)

    problems = []
    if result.inlier_rmse > preset.icp_rmse_limit:
        problems.append(f"inlier RMSE {result.inlier_rmse:.4f} m > limit "
                        f"{preset.icp_rmse_limit:.4f} m")
    if result.fitness < preset.icp_min_fitness:
        problems.append(f"fitness {result.fitness:.3f} < minimum {preset.icp_min_fitness:.3f}")
    if problems:
        if not force:
            err = RegistrationError(
                "registration residuals too high: " + "; ".join(problems)
                + f" (fitness {result.fitness:.3f}, {result.correspondences} correspondences, "
                f"{result.iterations} iterations). Check the epoch's CRS/origin, try "
                "coarse_registration = true, widen icp_max_distance, or accept with --force")
            err.result = result
            raise err
        result.accepted_by_force = True
        log.warning("registration accepted by force: %s", "; ".join(problems))
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
