"""LAS 1.0–1.4, LAZ and COPC points through laspy (LAZ decoded by lazrs on every core).

Points are decoded in chunks straight into preallocated output arrays, so the peak memory is
the result plus one chunk, not the result plus a copy of the whole file's records.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import laspy
import numpy as np

from processing.errors import ReaderError
from processing.readers.crs import crs_from_las_header, resolve_crs
from processing.types import PointCloud

log = logging.getLogger(__name__)

LAZ_BACKEND = laspy.LazBackend.LazrsParallel
# Points per decode step: a multiple of the usual LAZ chunk (50,000) so every core gets whole
# chunks, and small enough that the raw records of one step stay ~40 MB.
CHUNK_POINTS = 1_000_000
# Standard fields kept beyond xyz/rgb/intensity/classification (write_laz maps them back).
KEPT_STANDARD = ("gps_time", "return_number", "number_of_returns", "nir")
_WAVEFORM_FORMATS = {4, 5, 9, 10}
NORMAL_NAMES = ("NormalX", "NormalY", "NormalZ")


def _check_header_layout(path: Path) -> None:
    """Refuse a header whose sizes contradict each other before laspy reads it: a damaged VLR
    count makes laspy walk millions of records (minutes, gigabytes) instead of failing."""
    with open(path, "rb") as f:
        head = f.read(104)
    if len(head) < 104 or head[:4] != b"LASF":
        return  # laspy gives the clearer message for these
    header_size, point_offset, n_vlrs = struct.unpack_from("<HII", head, 94)
    size = path.stat().st_size
    if header_size < 227 or point_offset < header_size or point_offset > size \
            or n_vlrs * 54 > point_offset - header_size:
        raise ReaderError(path, f"the LAS header is damaged (header size {header_size}, "
                                f"{n_vlrs:,} variable-length records, point data at byte "
                                f"{point_offset:,} of {size:,}); copy the file again from "
                                "the original delivery")


def _open(path: Path) -> laspy.LasReader:
    _check_header_layout(path)
    try:
        return laspy.open(path, laz_backend=LAZ_BACKEND)
    except laspy.errors.LaspyException as exc:
        msg = str(exc)
        if "signature" in msg:
            reason = "is not a LAS/LAZ file (it does not start with 'LASF')"
        elif "small" in msg or "empty" in msg:
            reason = "file is truncated: it is shorter than a LAS header; copy it again"
        else:
            reason = f"the LAS header cannot be read ({msg}); the file is damaged"
        raise ReaderError(path, reason) from exc
    except Exception as exc:  # a damaged header can fail in struct, numpy, lazrs, ...
        raise ReaderError(path, f"the LAS header cannot be read ({type(exc).__name__}: {exc}); "
                                "the file is damaged or truncated — copy it again") from exc


def _check_uncompressed_size(path: Path, header: laspy.LasHeader) -> None:
    """Refuse a LAS file whose header announces a different number of points than it holds."""
    size = path.stat().st_size
    record = header.point_format.size
    start = header.offset_to_point_data
    end = size
    if header.number_of_evlrs and header.start_of_first_evlr:
        end = min(end, header.start_of_first_evlr)
    waveform_start = getattr(header, "start_of_waveform_data_packet_record", 0)
    if waveform_start and header.global_encoding.waveform_data_packets_internal:
        end = min(end, waveform_start)
    holds = max(end - start, 0) // record
    count = header.point_count
    if holds < count:
        raise ReaderError(path, f"the header announces {count:,} points but the file holds only "
                                f"{holds:,}: it is truncated (or its header is wrong); copy it "
                                "again from the original delivery")
    if holds > count and end == size:
        raise ReaderError(path, f"the header announces {count:,} points but the file holds "
                                f"{holds:,}: its header is wrong; re-export the file")


def _check_laz_chunks(path: Path, header: laspy.LasHeader) -> None:
    """Refuse a LAZ file whose header's point count does not match its chunk table."""
    import lazrs

    vlr = next((v for v in header.vlrs if isinstance(v, laspy.vlrs.known.LasZipVlr)), None)
    if vlr is None:
        return
    try:
        laz_vlr = lazrs.LazVlr(vlr.record_data)
        with open(path, "rb") as f:
            f.seek(header.offset_to_point_data)
            table = lazrs.read_chunk_table(f, laz_vlr)
    except Exception:  # no chunk table (very old writers) or unreadable: decoding will tell
        log.debug("%s: no usable LAZ chunk table", path, exc_info=True)
        return
    if not table:
        return
    count = header.point_count
    if laz_vlr.uses_variable_size_chunks():
        low = high = sum(int(points) for points, _ in table)
    else:                                            # fixed chunks: the last one may be short
        size = laz_vlr.chunk_size()
        low, high = (len(table) - 1) * size + 1, len(table) * size
    if not low <= count <= high:
        holds = f"{low:,}" if low == high else f"{low:,} to {high:,}"
        raise ReaderError(path, f"the header announces {count:,} points but the compressed data "
                                f"holds {holds}: the header is wrong or the file is damaged — "
                                "copy it again or re-export it")


def read_las(path: str | Path, crs: str | None = None,
             origin: np.ndarray | None = None) -> PointCloud:
    """Read a LAS/LAZ/COPC file into a PointCloud (frame "crs").

    ``crs`` is the manifest's CRS, used when the file declares none. With ``origin`` the
    coordinates come back already shifted by it (frame "site"), computed from the stored
    integers in one pass, which keeps full precision far from the CRS origin.
    """
    path = Path(path)
    with _open(path) as reader:
        header = reader.header
        fmt = header.point_format
        n = int(header.point_count)
        compressed = header.are_points_compressed
        if compressed:
            _check_laz_chunks(path, header)
        else:
            _check_uncompressed_size(path, header)
        if n == 0:
            raise ReaderError(path, "contains no points")
        if fmt.id in _WAVEFORM_FORMATS:
            where = ("in an external .wdp file"
                     if header.global_encoding.waveform_data_packets_external else "in the file")
            log.warning("%s: point format %d refers to full-waveform samples stored %s; the "
                        "points are read, the waveforms are not imported (the original file is "
                        "archived unchanged)", path, fmt.id, where)
        names = set(fmt.dimension_names)
        extra_names = list(fmt.extra_dimension_names)
        has_normals = all(nm in extra_names for nm in NORMAL_NAMES)
        if has_normals:
            extra_names = [nm for nm in extra_names if nm not in NORMAL_NAMES]

        xyz = np.empty((n, 3), dtype=np.float64)
        rgb = np.empty((n, 3), np.uint16) if {"red", "green", "blue"} <= names else None
        intensity = np.empty(n, np.uint16)
        classification = np.empty(n, np.uint8)
        normals = np.empty((n, 3), np.float32) if has_normals else None
        kept: dict[str, np.ndarray] = {}
        scales = header.scales
        offsets = header.offsets if origin is None else header.offsets - np.asarray(origin, float)

        done = 0
        try:
            for chunk in reader.chunk_iterator(CHUNK_POINTS):
                m = len(chunk)
                if done + m > n:
                    raise ReaderError(path, f"holds more points than the {n:,} its header "
                                            "announces; its header is wrong — re-export it")
                sl = slice(done, done + m)
                raw = chunk.array
                for j, dim in enumerate("XYZ"):
                    col = xyz[sl, j]
                    np.multiply(raw[dim], scales[j], out=col)
                    col += offsets[j]
                if rgb is not None:
                    rgb[sl, 0] = raw["red"]
                    rgb[sl, 1] = raw["green"]
                    rgb[sl, 2] = raw["blue"]
                intensity[sl] = raw["intensity"]
                classification[sl] = chunk.classification
                if normals is not None:
                    for j, nm in enumerate(NORMAL_NAMES):
                        normals[sl, j] = chunk[nm]
                for nm in [*(d for d in KEPT_STANDARD if d in names), *extra_names]:
                    values = np.asarray(chunk[nm])
                    if nm not in kept:
                        kept[nm] = np.empty((n, *values.shape[1:]), values.dtype)
                    kept[nm][sl] = values
                done += m
        except ReaderError:
            raise
        except Exception as exc:  # lazrs/laspy report damage as RuntimeError, ValueError, ...
            raise ReaderError(path, f"the point records cannot be decoded after {done:,} of "
                                    f"{n:,} points ({type(exc).__name__}: {exc}): the file is "
                                    "truncated or damaged — copy it again from the original "
                                    "delivery") from exc
        if done != n:
            raise ReaderError(path, f"the header announces {n:,} points but the file holds only "
                                    f"{done:,}: it is truncated (or its header is wrong); copy "
                                    "it again from the original delivery")
        file_crs = crs_from_las_header(header, path, crs)

    return PointCloud(xyz=xyz, crs=resolve_crs(file_crs, crs, path),
                      frame="crs" if origin is None else "site", rgb=rgb, intensity=intensity,
                      classification=classification, normals=normals, extra=kept, source=path)
