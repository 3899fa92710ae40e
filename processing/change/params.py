"""Parameters of the change-detection methods, in one convention: radii in metres.

CloudCompare's M3C2 dialog asks for *diameters* (normal scale, projection scale) and a
"max depth" that its source uses as the cylinder's half-length; PDAL ``filters.m3c2`` and
py4dgeo take radii.  ``M3C2Params.from_cloudcompare`` converts (see docs/CHANGE.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from processing.change._common import positive
from processing.errors import ProcessingError


@dataclass(frozen=True)
class M3C2Params:
    """M3C2 (Lague et al. 2013) parameters.

    normal_radius: radius (m) of the sphere of reference-epoch points whose PCA gives the normal
        at a core point (PDAL ``normal_radius``, py4dgeo ``normal_radii``, CloudCompare
        "normal scale" / 2).
    cylinder_radius: radius (m) of the projection cylinder (PDAL ``cyl_radius``, py4dgeo
        ``cyl_radius``, CloudCompare "projection scale" / 2).
    max_depth: half-length (m) of the cylinder along the normal, i.e. the largest change that
        can be measured (PDAL ``cyl_halflen``, py4dgeo ``max_distance``, CloudCompare
        "max depth").
    orientation: 'up' (normals get z >= 0) or a viewpoint (x, y, z) the normals face
        (e.g. a terrestrial scanner's position).
    registration_error: registration error (m) added to the level of detection.
    statistic: 'mean' (Lague, PDAL, py4dgeo) or 'median' of the projections in each epoch.
    min_points: a core point gets a value only with at least this many points of each epoch
        in its cylinder (PDAL ``min_points``, default 1).
    min_normal_points: neighbours needed for a normal (>= 3).
    """

    normal_radius: float
    cylinder_radius: float
    max_depth: float
    orientation: str | tuple[float, float, float] = "up"
    registration_error: float = 0.0
    statistic: Literal["mean", "median"] = "mean"
    min_points: int = 1
    min_normal_points: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal_radius", positive(self.normal_radius, "normal_radius"))
        object.__setattr__(self, "cylinder_radius",
                           positive(self.cylinder_radius, "cylinder_radius"))
        object.__setattr__(self, "max_depth", positive(self.max_depth, "max_depth"))
        object.__setattr__(self, "registration_error",
                           positive(self.registration_error, "registration_error",
                                    allow_zero=True))
        if isinstance(self.orientation, str):
            if self.orientation != "up":
                raise ProcessingError(f"orientation {self.orientation!r} is not known: use "
                                      "'up' or a viewpoint (x, y, z)")
        else:
            vp = np.asarray(self.orientation, dtype=np.float64)
            if vp.shape != (3,) or not np.isfinite(vp).all():
                raise ProcessingError("orientation must be 'up' or a viewpoint of three finite "
                                      f"coordinates, got {self.orientation!r}")
            object.__setattr__(self, "orientation", tuple(float(v) for v in vp))
        if self.statistic not in ("mean", "median"):
            raise ProcessingError(f"statistic must be 'mean' or 'median', got "
                                  f"{self.statistic!r}")
        if int(self.min_points) < 1:
            raise ProcessingError(f"min_points must be >= 1, got {self.min_points}")
        if int(self.min_normal_points) < 3:
            raise ProcessingError("min_normal_points must be >= 3 (two points do not define a "
                                  f"plane), got {self.min_normal_points}")

    @classmethod
    def from_cloudcompare(cls, normal_scale_diameter: float, projection_scale_diameter: float,
                          max_depth: float, **kwargs: Any) -> M3C2Params:
        """Parameters from CloudCompare's M3C2 dialog.

        CloudCompare's "normal scale" and "projection scale" are diameters: the radii are half.
        Its "max depth" is already the half-length (qM3C2 sets the cylinder's
        ``maxHalfLength`` to it; the wiki: "the cylinder height (in both directions)"), so it
        is used unchanged.
        """
        return cls(normal_radius=positive(normal_scale_diameter, "normal scale") / 2.0,
                   cylinder_radius=positive(projection_scale_diameter, "projection scale") / 2.0,
                   max_depth=max_depth, **kwargs)

    def to_cloudcompare(self) -> dict[str, float]:
        """The same cylinder in CloudCompare's terms (diameters, max depth)."""
        return {"normal_scale": 2.0 * self.normal_radius,
                "projection_scale": 2.0 * self.cylinder_radius,
                "max_depth": self.max_depth}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not isinstance(self.orientation, str):
            d["orientation"] = list(self.orientation)
        return d


@dataclass(frozen=True)
class DoDParams:
    """Difference-of-DEMs parameters.

    cell_size: DEM cell edge (m).
    statistic: per-cell elevation. 'surface' (default) is the mean height of the surface over
        the cell, sampled from the nearest points in plan (edges counted by the share of the
        cell they cover: volumes without an edge factor; see docs/CHANGE.md); 'max' is the
        highest point (an edge cell counts wholly at the top: volumes too large); 'mean' the
        mean of the points (walls pull it); 'min' the lowest return.
    fill_holes: rounds of hole filling (max/mean/min; 'surface' fills holes up to 1.5 point
        spacings by itself); each round gives an empty cell with >= 5 filled
        neighbours (of 8) their mean, so a round closes holes up to 2 cells wide without
        growing the DEM outward along straight edges.  0 disables.
    registration_error: vertical registration error (m), systematic over the whole area.
    only_significant: volumes count only cells whose |dz| exceeds the cell's LoD95.
    """

    cell_size: float
    statistic: Literal["surface", "max", "mean", "min"] = "surface"
    fill_holes: int = 0
    registration_error: float = 0.0
    only_significant: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell_size", positive(self.cell_size, "cell_size"))
        object.__setattr__(self, "registration_error",
                           positive(self.registration_error, "registration_error",
                                    allow_zero=True))
        if self.statistic not in ("surface", "max", "mean", "min"):
            raise ProcessingError(f"DEM statistic must be 'surface', 'max', 'mean' or 'min', got "
                                  f"{self.statistic!r}")
        if int(self.fill_holes) < 0:
            raise ProcessingError(f"fill_holes must be >= 0 rounds, got {self.fill_holes}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
