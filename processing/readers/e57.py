"""ASTM E57 scans through libE57Format (pye57's binding), every scan moved into the file's frame.

pye57's own ``read_scan`` decodes colours into 8-bit buffers and fails on 16-bit colours, so
this module builds the buffers itself: float64 for every numeric field, then colours and
intensity are rescaled from the limits the file declares to the LAS 0..65535 convention.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pye57 import libe57
from pye57.utils import get_node

from processing.errors import ReaderError
from processing.readers.crs import crs_name, parse_crs, resolve_crs
from processing.types import PointCloud

log = logging.getLogger(__name__)

_CARTESIAN = ("cartesianX", "cartesianY", "cartesianZ")
_SPHERICAL = ("sphericalRange", "sphericalAzimuth", "sphericalElevation")
_COLOURS = ("colorRed", "colorGreen", "colorBlue")
_HANDLED = {*_CARTESIAN, *_SPHERICAL, *_COLOURS, "intensity", "cartesianInvalidState",
            "sphericalInvalidState", "isColorInvalid", "isIntensityInvalid"}


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a (w, x, y, z) quaternion (normalised first, as E57 requires unit)."""
    w, x, y, z = np.asarray(q, float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def _pose(scan) -> tuple[np.ndarray, np.ndarray] | None:
    if not scan.isDefined("pose"):
        return None
    pose = scan["pose"]
    q = np.array([1.0, 0, 0, 0])
    t = np.zeros(3)
    if pose.isDefined("rotation"):
        rot = pose["rotation"]
        q = np.array([get_node(rot, k).value() for k in ("w", "x", "y", "z")], float)
    if pose.isDefined("translation"):
        tr = pose["translation"]
        t = np.array([get_node(tr, k).value() for k in ("x", "y", "z")], float)
    return quaternion_matrix(q), t


def _limits(scan, proto, group: str, field: str) -> tuple[float, float]:
    """Value range of a colour/intensity field: the scan's declared limits, else the type's."""
    if scan.isDefined(group):                        # e.g. colorLimits/colorRedMinimum
        lim = scan[group]
        lo, hi = f"{field}Minimum", f"{field}Maximum"
        if lim.isDefined(lo) and lim.isDefined(hi):
            return float(get_node(lim, lo).value()), float(get_node(lim, hi).value())
    node = get_node(proto, field)
    if hasattr(node, "minimum"):
        lo, hi = float(node.minimum()), float(node.maximum())
        if hasattr(node, "scale"):                   # ScaledIntegerNode: raw limits
            lo, hi = lo * node.scale() + node.offset(), hi * node.scale() + node.offset()
        return lo, hi
    return 0.0, 1.0                                  # float fields without limits: unit range


def _to_uint16(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(values.shape, np.uint16)
    scaled = (values - lo) * (65535.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)


def _read_scan(imf, scan, index: int, path: Path) -> dict[str, np.ndarray]:
    points = scan["points"]
    n = points.childCount()
    proto = libe57.StructureNode(points.prototype())
    fields = [proto.get(i).elementName() for i in range(proto.childCount())]
    if all(f in fields for f in _CARTESIAN):
        coords, state = _CARTESIAN, "cartesianInvalidState"
    elif all(f in fields for f in _SPHERICAL):
        coords, state = _SPHERICAL, "sphericalInvalidState"
    else:
        raise ReaderError(path, f"scan {index} has neither cartesian nor spherical coordinates "
                                f"(fields: {', '.join(fields)})")
    types = {f: proto.get(f).type() for f in fields}
    numeric = [f for f in fields if types[f] in (libe57.E57_INTEGER, libe57.E57_SCALED_INTEGER,
                                                 libe57.E57_FLOAT)]
    # Integers that are not rescaled below keep their type; the rest is decoded as float64.
    data = {f: np.empty(n, np.int64 if types[f] == libe57.E57_INTEGER and f not in _HANDLED
                        else np.float64) for f in numeric}
    buffers = libe57.VectorSourceDestBuffer()
    for f, arr in data.items():
        buffers.append(libe57.SourceDestBuffer(imf, f, arr, n, True, True))
    reader = points.reader(buffers)
    try:
        got = reader.read()
    finally:
        reader.close()
    if got != n:
        raise ReaderError(path, f"scan {index} announces {n:,} points but {got:,} could be "
                                "read; the file is truncated — copy it again")

    a, b, c = (data[f] for f in coords)
    if coords is _SPHERICAL:                         # range, azimuth, elevation (radians)
        rc = a * np.cos(c)
        xyz = np.column_stack((rc * np.cos(b), rc * np.sin(b), a * np.sin(c)))
    else:
        xyz = np.column_stack((a, b, c))
    pose = _pose(scan)
    if pose is not None:
        rot, t = pose
        xyz = xyz @ rot.T
        xyz += t
    out: dict[str, np.ndarray] = {"xyz": xyz}
    if all(f in data for f in _COLOURS):
        rgb = np.empty((n, 3), np.uint16)
        for j, f in enumerate(_COLOURS):
            rgb[:, j] = _to_uint16(data[f], *_limits(scan, proto, "colorLimits", f))
        if "isColorInvalid" in data:
            rgb[data["isColorInvalid"] != 0] = 0
        out["rgb"] = rgb
    if "intensity" in data:
        inten = _to_uint16(data["intensity"], *_limits(scan, proto, "intensityLimits",
                                                       "intensity"))
        if "isIntensityInvalid" in data:
            inten[data["isIntensityInvalid"] != 0] = 0
        out["intensity"] = inten
    for f in numeric:
        if f not in _HANDLED:
            out["extra:" + f.replace(":", "_")] = data[f]
    if state in data:                                # 1 = direction only, 2 = no value
        keep = data[state] == 0
        if not keep.all():
            out = {k: v[keep] for k, v in out.items()}
    return out


def _file_crs(root, path: Path) -> str | None:
    if not root.isDefined("coordinateMetadata"):
        return None
    text = get_node(root, "coordinateMetadata").value().strip()
    if not text:
        return None
    try:
        return crs_name(parse_crs(text))
    except Exception:  # free text is allowed there; only a CRS PROJ knows is useful
        log.warning("%s: coordinateMetadata %r is not a CRS PROJ understands; ignoring it",
                    path, text[:80])
        return None


def read_e57(path: str | Path, crs: str | None = None) -> PointCloud:
    """All scans of an E57 file, each moved by its pose into the file's common frame."""
    path = Path(path)
    try:
        imf = libe57.ImageFile(str(path), "r")
    except libe57.E57Exception as exc:
        raise ReaderError(path, f"is not a readable E57 file ({str(exc).splitlines()[0]}); "
                                "it is damaged or truncated — copy it again") from exc
    try:
        root = imf.root()
        if not root.isDefined("data3D") or root["data3D"].childCount() == 0:
            raise ReaderError(path, "contains no 3D scans (only images?)")
        data3d = root["data3D"]
        scans = []
        for i in range(data3d.childCount()):
            try:
                scans.append(_read_scan(imf, data3d[i], i, path))
            except libe57.E57Exception as exc:
                raise ReaderError(path, f"scan {i} cannot be decoded "
                                        f"({str(exc).splitlines()[0]})") from exc
        file_crs = _file_crs(root, path)
    finally:
        imf.close()

    def gather(key: str) -> np.ndarray | None:
        parts = [s.get(key) for s in scans]
        if all(p is None for p in parts):
            return None
        if any(p is None for p in parts):
            log.warning("%s: only some scans have %s; it is dropped for all", path,
                        key.removeprefix("extra:"))
            return None
        return np.concatenate(parts)

    xyz = np.concatenate([s["xyz"] for s in scans])
    if len(xyz) == 0:
        raise ReaderError(path, "contains no valid points")
    extra_keys = {k for s in scans for k in s if k.startswith("extra:")}
    extra = {k.removeprefix("extra:"): v for k in sorted(extra_keys)
             if (v := gather(k)) is not None}
    return PointCloud(xyz=xyz, crs=resolve_crs(file_crs, crs, path), rgb=gather("rgb"),
                      intensity=gather("intensity"), extra=extra, source=path)
