"""Array containers passed between pipeline stages (renderer- and format-neutral)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class PointCloud:
    """Points as read from a scan or produced by a stage.

    ``xyz`` is float64: real CRS coordinates when ``frame == "crs"``, site-local coordinates
    (origin subtracted) when ``frame == "site"``.  Attributes are optional, one row per point.
    """

    xyz: np.ndarray                                  # (N, 3) float64
    crs: str | None = None                           # "EPSG:…" or WKT; None when unknown
    frame: str = "crs"                               # "crs" or "site"
    rgb: np.ndarray | None = None                    # (N, 3) uint16, LAS convention 0..65535
    intensity: np.ndarray | None = None              # (N,) uint16
    classification: np.ndarray | None = None         # (N,) uint8, ASPRS classes
    normals: np.ndarray | None = None                # (N, 3) float32
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    source: Path | None = None

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    def subset(self, mask_or_index: np.ndarray) -> PointCloud:
        """A new cloud with the selected rows of every per-point array."""
        def pick(a):
            return None if a is None else a[mask_or_index]
        return PointCloud(
            xyz=self.xyz[mask_or_index], crs=self.crs, frame=self.frame, rgb=pick(self.rgb),
            intensity=pick(self.intensity), classification=pick(self.classification),
            normals=pick(self.normals),
            extra={k: v[mask_or_index] for k, v in self.extra.items()}, source=self.source)


@dataclass
class Mesh:
    """A triangle mesh with optional per-vertex colours or one texture.

    ``vertices`` are float64 in the frame named by ``frame`` (see PointCloud); products in the
    archive are float32 in the site frame.
    """

    vertices: np.ndarray                             # (N, 3) float64 or float32
    faces: np.ndarray                                # (M, 3) int32/int64
    crs: str | None = None
    frame: str = "crs"
    vertex_colors: np.ndarray | None = None          # (N, 4) uint8 RGBA
    normals: np.ndarray | None = None                # (N, 3) float32
    uv: np.ndarray | None = None                     # (N, 2) float32, glTF convention (v down)
    texture: np.ndarray | None = None                # (H, W, 3|4) uint8
    source: Path | None = None
    texture_format: str | None = None                # "jpeg" or "png": how the texture came
    texture_file: Path | None = None                 # the image it came from, if one file

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])
