"""ASCII point files: XYZ/TXT/CSV (``x y z [intensity] [r g b]``) and Leica PTS (count line).

Parsing is numpy's C text reader (``np.loadtxt``) over the whole file at once; the first lines
only decide the delimiter, the header lines to skip and the column layout.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from processing.errors import ReaderError
from processing.readers.crs import resolve_crs
from processing.types import PointCloud

log = logging.getLogger(__name__)

_LAYOUTS = {3: "x y z", 4: "x y z intensity", 6: "x y z r g b", 7: "x y z intensity r g b"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_COMMENTS = ("#", "//")


def _split(line: str, delimiter: str | None) -> list[str]:
    return [t for t in (line.split(delimiter) if delimiter else line.split()) if t.strip()]


def _is_numeric_row(line: str, delimiter: str | None) -> bool:
    tokens = _split(line, delimiter)
    return bool(tokens) and all(_NUMBER.match(t.strip()) for t in tokens)


def _layout(path: Path) -> tuple[int, int | None, str | None, int]:
    """(lines to skip, PTS point count or None, delimiter, number of columns)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        head = [f.readline() for _ in range(50)]
    skip = 0
    count = None
    lines = [ln.strip() for ln in head]
    # Leading blank lines and comments, a PTS count, then at most two header lines
    # ("X Y Z R G B").
    while skip < len(lines) and (not lines[skip] or lines[skip].startswith(_COMMENTS)):
        skip += 1
    if skip < len(lines) and lines[skip].isdigit():
        count, skip = int(lines[skip]), skip + 1        # PTS: the point count on its own line
    for _ in range(2):
        if skip < len(lines) and lines[skip] and not _is_numeric_row(
                lines[skip], "," if "," in lines[skip] else (";" if ";" in lines[skip] else None)):
            skip += 1
    first = lines[skip] if skip < len(lines) else ""
    delimiter = "," if "," in first else (";" if ";" in first else None)
    if not first or not _is_numeric_row(first, delimiter):
        raise ReaderError(path, "is not a point text file: no line of numbers "
                                "'x y z [intensity] [r g b]' near its start")
    return skip, count, delimiter, len(_split(first, delimiter))


def _intensity(values: np.ndarray, pts: bool) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if pts or lo < 0:                                # Leica PTS: -2048..2047
        scaled = (values + 2048.0) * 16.0
    elif hi <= 1.0:                                  # normalised 0..1
        scaled = values * 65535.0
    elif hi <= 255.0 and np.all(values == np.round(values)):
        scaled = values * 257.0
    else:
        scaled = values
    return np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)


def _colour(values: np.ndarray) -> np.ndarray:
    hi = float(values.max())
    if hi <= 1.0 and not np.all(values == np.round(values)):
        scaled = values * 65535.0                    # normalised floats
    elif hi <= 255.0:
        scaled = values * 257.0                      # 8 bit -> 16 bit (255 -> 65535)
    else:
        scaled = values
    return np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)


def read_text_points(path: str | Path, crs: str | None = None) -> PointCloud:
    path = Path(path)
    skip, count, delimiter, ncols = _layout(path)
    if ncols not in _LAYOUTS:
        raise ReaderError(path, f"has {ncols} columns; stadtzeit reads text points as "
                                f"{' | '.join(_LAYOUTS.values())} — reorder the columns or "
                                "convert the file to LAZ")
    try:
        table = np.loadtxt(path, dtype=np.float64, delimiter=delimiter, skiprows=skip,
                           comments=list(_COMMENTS), ndmin=2, encoding="utf-8")
    except ValueError as exc:
        raise ReaderError(path, f"cannot be parsed as {_LAYOUTS[ncols]} columns "
                                f"({str(exc).splitlines()[0]}); fix or re-export the file") from exc
    if table.shape[1] != ncols:
        raise ReaderError(path, f"rows have {table.shape[1]} columns after the first row's "
                                f"{ncols}; fix or re-export the file")
    n = len(table)
    if n == 0:
        raise ReaderError(path, "contains no points")
    if count is not None and count != n:
        raise ReaderError(path, f"its first line announces {count:,} points but it holds {n:,}: "
                                "it is truncated or has several blocks; copy it again or "
                                "convert it to LAZ")
    pts = count is not None or path.suffix.lower() == ".pts"
    xyz = np.ascontiguousarray(table[:, :3])
    intensity = _intensity(table[:, 3], pts) if ncols in (4, 7) else None
    rgb = _colour(table[:, ncols - 3:]) if ncols in (6, 7) else None
    return PointCloud(xyz=xyz, crs=resolve_crs(None, crs, path), rgb=rgb, intensity=intensity,
                      source=path)
