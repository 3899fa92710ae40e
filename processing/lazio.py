"""The archive's point product: LAS 1.4 LAZ (point format 6, or 7 with RGB) in the real CRS.

Coordinates are stored as integers of 1 mm around an offset near the site origin, so a site
point comes back within half a millimetre; the CRS is an OGC WKT record (WKT bit set);
``cloud.extra`` becomes LAS extra bytes, except names of standard point-format-6/7 fields
(``gps_time``, ``return_number``, …), which fill those fields. Normals are stored as the extra
bytes NormalX/NormalY/NormalZ (float32), which ``processing.readers`` turns back into normals.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import laspy
import numpy as np

from processing.errors import ProcessingError
from processing.readers.crs import parse_crs
from processing.readers.las import NORMAL_NAMES, read_las
from processing.types import PointCloud

log = logging.getLogger(__name__)

SCALE = 0.001
_OWN_FIELDS = {"X", "Y", "Z", "intensity", "classification", "red", "green", "blue"}
_INT32 = (np.iinfo(np.int32).min, np.iinfo(np.int32).max)


def _wkt(crs: str) -> str:
    c = parse_crs(crs)
    try:
        # WKT1 is what most LAS readers (PDAL, LAStools, CloudCompare) understand today.
        return c.to_wkt("WKT1_GDAL")
    except Exception:  # CRSs WKT1 cannot express: WKT2, which LAS 1.4 R15 also permits
        return c.to_wkt()


def _integers(xyz: np.ndarray, shift: np.ndarray, scale: float) -> np.ndarray | None:
    """round((xyz + shift) / scale) as int32, or None when a value does not fit."""
    out = np.empty(xyz.shape, np.int32)
    for j in range(3):
        col = xyz[:, j] + shift[j]
        col /= scale
        np.rint(col, out=col)
        if col.size and (col.min() < _INT32[0] or col.max() > _INT32[1]):
            return None
        out[:, j] = col
    return out


def _extra_type(name: str, values: np.ndarray) -> str:
    dt = values.dtype
    if dt == np.bool_:
        dt = np.dtype(np.uint8)
    elif dt == np.float16:
        dt = np.dtype(np.float32)
    if dt.kind not in "uif" or dt.itemsize not in (1, 2, 4, 8):
        raise ProcessingError(f"extra dimension {name!r} has type {values.dtype}, which LAS "
                              "extra bytes cannot hold (use an integer or float type)")
    if values.ndim == 1:
        return dt.str.lstrip("<>|=")
    if values.ndim == 2 and (1 <= values.shape[1] <= 3 or dt == np.uint8):
        # Wider byte arrays are LAS "undocumented extra bytes" (e.g. a 'Reserved' block).
        return f"{values.shape[1]}{dt.str.lstrip('<>|=')}"
    raise ProcessingError(f"extra dimension {name!r} has shape {values.shape[1:]} per point; "
                          "LAS extra bytes hold scalars, 2-3 values, or a block of bytes")


def write_laz(cloud: PointCloud, path: str | os.PathLike, origin: Sequence[float], crs: str,
              *, scale: float = SCALE, created: dt.date | None = None) -> Path:
    """Write ``cloud`` (frame "site": origin added back here; frame "crs": as is) as LAZ.

    ``created`` is the header's creation date (default today, as LAS says); pass a fixed date
    (e.g. the capture date) to get byte-identical files for identical input. The file is
    written next to ``path`` and renamed into place, so a failed write never leaves a partial
    product behind.
    """
    path = Path(path)
    n = len(cloud)
    xyz = np.asarray(cloud.xyz, dtype=np.float64)
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    offset = np.round(o)
    # Site xyz + (origin - offset) keeps the small numbers small: no cancellation at 5.7e6 m.
    shift = (o - offset) if cloud.frame == "site" else -offset
    if cloud.frame not in ("site", "crs"):
        raise ValueError(f"unknown frame {cloud.frame!r}")
    ints = _integers(xyz, shift, scale)
    if ints is None and n:
        # The origin is far from the points: centre the offset on them instead.
        real_mid = (xyz.min(0) + xyz.max(0)) / 2 + (o if cloud.frame == "site" else 0)
        offset = np.round(real_mid)
        shift = (o - offset) if cloud.frame == "site" else -offset
        ints = _integers(xyz, shift, scale)
        if ints is None:
            raise ProcessingError(f"{path}: the points span more than ±2,147 km at 1 mm "
                                  "resolution; split the cloud into tiles")
        log.info("%s: origin far from the points; LAS offset set to %s", path, offset.tolist())

    pf = 7 if cloud.rgb is not None else 6
    header = laspy.LasHeader(point_format=pf, version="1.4")
    header.scales = np.array([scale] * 3)
    header.offsets = offset
    header.generating_software = "stadtzeit"
    header.creation_date = created or dt.date.today()
    standard = set(header.point_format.dimension_names) - _OWN_FIELDS
    extras: list[tuple[str, np.ndarray]] = []
    for name, values in cloud.extra.items():
        values = np.asarray(values)
        if len(values) != n:
            raise ProcessingError(f"extra dimension {name!r} has {len(values)} values for "
                                  f"{n} points")
        if name in standard:
            continue
        if name in _OWN_FIELDS or name.lower() in {"x", "y", "z"} or name in NORMAL_NAMES:
            raise ProcessingError(f"extra dimension {name!r} clashes with a LAS field; rename it")
        if len(name) > 32 or not name.isascii():
            raise ProcessingError(f"extra dimension {name!r}: LAS names are at most 32 ASCII "
                                  "characters; rename it")
        extras.append((name, values))
    params = [laspy.ExtraBytesParams(name, _extra_type(name, v)) for name, v in extras]
    if cloud.normals is not None:
        params += [laspy.ExtraBytesParams(nm, "f4", "unit normal") for nm in NORMAL_NAMES]
    if params:
        header.add_extra_dims(params)
    header.vlrs.append(laspy.vlrs.known.WktCoordinateSystemVlr(_wkt(crs)))
    header.global_encoding.wkt = True

    points = laspy.ScaleAwarePointRecord.zeros(n, header=header)
    raw = points.array
    raw["X"], raw["Y"], raw["Z"] = ints[:, 0], ints[:, 1], ints[:, 2]
    if cloud.intensity is not None:
        raw["intensity"] = cloud.intensity
    if cloud.classification is not None:
        raw["classification"] = cloud.classification
    if cloud.rgb is not None:
        raw["red"], raw["green"], raw["blue"] = cloud.rgb[:, 0], cloud.rgb[:, 1], cloud.rgb[:, 2]
    # Returns default to 1 of 1: a zero return number is invalid LAS.
    points.return_number = np.ones(n, np.uint8)
    points.number_of_returns = np.ones(n, np.uint8)
    for name, values in cloud.extra.items():
        if name in standard:
            points[name] = values
    for name, values in extras:
        points[name] = values
    if cloud.normals is not None:
        for j, nm in enumerate(NORMAL_NAMES):
            points[nm] = cloud.normals[:, j]
    las = laspy.LasData(header, points=points)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        # A stream, not a path: laspy picks compression from a path's extension (".part").
        with open(tmp, "wb") as out:
            las.write(out, do_compress=True, laz_backend=laspy.LazBackend.LazrsParallel)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_laz_site(path: str | os.PathLike, origin: Sequence[float],
                  crs: str | None = None) -> PointCloud:
    """Read a LAS/LAZ file straight into the site frame (coordinates minus ``origin``)."""
    return read_las(path, crs, origin=np.asarray(origin, dtype=np.float64).reshape(3))


__all__ = ["SCALE", "read_laz_site", "write_laz"]
