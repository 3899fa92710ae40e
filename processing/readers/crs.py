"""Coordinate reference systems of source files: parse, name, and reconcile with the manifest.

A CRS travels through the pipeline as a string pyproj understands: ``"EPSG:25832"``,
``"EPSG:25832+7837"`` (compound) where the file's CRS is exactly an EPSG definition, otherwise
the file's definition as WKT, so nothing is lost by naming it.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import laspy
from pyproj import CRS
from pyproj.exceptions import CRSError

from processing.errors import ReaderError

log = logging.getLogger(__name__)

# GeoTIFF keys (OGC 19-008r4); values 1024..32766 are EPSG codes, 32767 is "user-defined".
_GEOGRAPHIC_KEY, _PROJECTED_KEY, _VERTICAL_KEY = 2048, 3072, 4096


def _epsg_code(value: int) -> int | None:
    return value if 1024 <= value <= 32766 else None


@lru_cache(maxsize=256)
def parse_crs(text: str) -> CRS:
    """A pyproj CRS from a CRS string (cached: the same strings recur for every file)."""
    return CRS.from_user_input(text)


def crs_name(crs: CRS) -> str:
    """``EPSG:code`` (or ``EPSG:h+v``) when that is exactly the CRS, else its WKT."""
    return _name_of(crs.srs)


@lru_cache(maxsize=256)
def _name_of(text: str) -> str:
    # Identifying a CRS searches the PROJ database (~0.1 s): do it once per definition. The
    # definition as the file wrote it is kept when it is not exactly an EPSG one.
    crs = CRS.from_user_input(text)
    code = crs.to_epsg()
    if code is not None and CRS.from_epsg(code).equals(crs, ignore_axis_order=True):
        return f"EPSG:{code}"
    if crs.is_compound and len(crs.sub_crs_list) == 2:
        codes = [c.to_epsg() for c in crs.sub_crs_list]
        if None not in codes:
            name = f"EPSG:{codes[0]}+{codes[1]}"
            if parse_crs(name).equals(crs, ignore_axis_order=True):
                return name
    return text


def same_crs(a: str | CRS, b: str | CRS) -> bool:
    """True when two CRSs are the same definition (names and axis order do not matter)."""
    ca = parse_crs(a) if isinstance(a, str) else a
    cb = parse_crs(b) if isinstance(b, str) else b
    return ca.equals(cb, ignore_axis_order=True)


def horizontal_part(crs: CRS) -> CRS:
    """The horizontal component of a compound CRS, the CRS itself otherwise."""
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


def _user_defined_geokeys(vlr: laspy.vlrs.known.GeoKeyDirectoryVlr) -> bool:
    keys = {k.id: k.value_offset for k in vlr.geo_keys if k.tiff_tag_location == 0}
    horizontal = _epsg_code(keys.get(_PROJECTED_KEY, 0)) or _epsg_code(keys.get(_GEOGRAPHIC_KEY, 0))
    return horizontal is None and (_PROJECTED_KEY in keys or _GEOGRAPHIC_KEY in keys)


def _crs_from_geokeys(vlr: laspy.vlrs.known.GeoKeyDirectoryVlr, path: object) -> CRS | None:
    keys = {k.id: k.value_offset for k in vlr.geo_keys if k.tiff_tag_location == 0}
    horizontal = _epsg_code(keys.get(_PROJECTED_KEY, 0)) or _epsg_code(keys.get(_GEOGRAPHIC_KEY, 0))
    if horizontal is None:
        return None
    vertical = _epsg_code(keys.get(_VERTICAL_KEY, 0))
    if vertical is not None:
        try:
            return parse_crs(f"EPSG:{horizontal}+{vertical}")
        except CRSError:
            log.warning("%s: vertical GeoTIFF key %d is not an EPSG vertical CRS; using the "
                        "horizontal CRS EPSG:%d alone", path, vertical, horizontal)
    try:
        return parse_crs(f"EPSG:{horizontal}")
    except CRSError:
        log.warning("%s: GeoTIFF key names EPSG:%d, which PROJ does not know", path, horizontal)
        return None


def crs_from_las_header(header: laspy.LasHeader, path: object,
                        manifest_crs: str | None = None) -> str | None:
    """The CRS a LAS/LAZ header declares (WKT record or GeoTIFF keys), or None.

    Damaged records (an empty WKT string, keys without EPSG codes) give None with a warning
    rather than an error: the points are still good, and the manifest can supply the CRS.
    User-defined GeoTIFF keys are only worth a warning when neither a WKT record nor the
    manifest's ``crs`` says what the CRS is.
    """
    records = list(header.vlrs) + list(header.evlrs or [])
    wkt_crs = geo_crs = None
    user_defined = False
    for rec in records:
        if isinstance(rec, laspy.vlrs.known.WktCoordinateSystemVlr) and wkt_crs is None:
            try:
                wkt_crs = rec.parse_crs()       # laspy's parser; None for an empty string
            except CRSError as exc:
                log.warning("%s: the WKT CRS record cannot be parsed (%s); ignoring it", path,
                            str(exc).splitlines()[0])
        elif isinstance(rec, laspy.vlrs.known.GeoKeyDirectoryVlr) and geo_crs is None:
            try:
                user_defined = _user_defined_geokeys(rec)
                geo_crs = _crs_from_geokeys(rec, path)
            except (CRSError, ValueError, AttributeError) as exc:
                log.warning("%s: the GeoTIFF keys cannot be read (%s); ignoring them", path, exc)
    # LAS 1.4: the global-encoding WKT bit says which record is authoritative; older files
    # normally carry only GeoTIFF keys, so they come first there.
    wkt_first = bool(header.global_encoding.wkt) or header.point_format.id >= 6
    if user_defined and wkt_crs is None and geo_crs is None and manifest_crs is None:
        log.warning("%s: the GeoTIFF keys define a user-defined CRS (no EPSG code), which "
                    "stadtzeit does not rebuild; set crs in the manifest", path)
    first, second = (wkt_crs, geo_crs) if wkt_first else (geo_crs, wkt_crs)
    chosen = first if first is not None else second
    if first is not None and second is not None and not first.equals(second,
                                                                      ignore_axis_order=True):
        log.warning("%s: the WKT record and the GeoTIFF keys disagree (%s vs %s); using %s",
                    path, wkt_crs.name, geo_crs.name, chosen.name)
    return None if chosen is None else crs_name(chosen)


def resolve_crs(file_crs: str | None, manifest_crs: str | None, path: object) -> str | None:
    """The CRS to use for a source: the file's, else the manifest's.

    When the file names only a horizontal CRS and the manifest a compound CRS with that same
    horizontal part, the manifest's compound CRS is used: it adds the vertical datum the file
    does not state, without contradicting it. On a real conflict the file wins, with a warning.
    """
    if manifest_crs is None:
        return file_crs
    try:
        mcrs = parse_crs(manifest_crs)
    except CRSError as exc:
        raise ReaderError(path, f"the manifest's crs {manifest_crs!r} is not a CRS PROJ knows "
                                f"({str(exc).splitlines()[0]}); use a code like "
                                "\"EPSG:25832+7837\"") from exc
    if file_crs is None:
        return manifest_crs
    fcrs = parse_crs(file_crs)
    if fcrs.equals(mcrs, ignore_axis_order=True):
        return manifest_crs
    if (not fcrs.is_compound and mcrs.is_compound
            and same_crs(fcrs, horizontal_part(mcrs))):
        log.info("%s: the file states %s; taking the manifest's %s for its vertical datum",
                 path, fcrs.name, manifest_crs)
        return manifest_crs
    log.warning("%s: the file says its CRS is %s but the manifest says %s; using the file's "
                "(remove crs from this source in the manifest if the file is right)", path,
                fcrs.name, mcrs.name)
    return file_crs


__all__ = ["crs_from_las_header", "crs_name", "horizontal_part", "parse_crs", "resolve_crs",
           "same_crs"]
