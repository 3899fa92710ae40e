"""Typed, immutable models of a site manifest (pydantic v2).

The TOML an archivist writes and the ``site.json`` stored in the archive are both validated
by these models. Unknown keys are refused (``extra="forbid"``) so that a typo never silently
drops a value, and numbers must be numbers (strict), so ``"51.49"`` in quotes is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assets_manifest.errors import ManifestError, UnknownEpochError
from assets_manifest.names import check_name

__all__ = [
    "DEFAULT_CRS", "DEFAULT_PRESET", "DEFAULT_REGISTRATION", "Annotation", "Capture",
    "ControlPoint", "Epoch", "LocalizedText", "Location", "Placement", "Preset", "Privacy",
    "Registration", "SiteManifest", "Source", "validation_problems",
]

DEFAULT_CRS = "EPSG:25832+7837"  # ETRS89 / UTM 32N + DHHN2016 heights: the NRW standard


class Capture(StrEnum):
    """How an epoch was captured."""

    AIRBORNE_LIDAR = "airborne-lidar"
    TERRESTRIAL_LIDAR = "terrestrial-lidar"
    MOBILE_LIDAR = "mobile-lidar"
    PHOTOGRAMMETRY = "photogrammetry"


class Preset(StrEnum):
    """Processing preset names (their parameters live in ``processing/presets.py``)."""

    ALS = "als"
    TLS = "tls"
    PHOTOGRAMMETRY = "photogrammetry"


DEFAULT_PRESET: dict[Capture, Preset] = {
    Capture.AIRBORNE_LIDAR: Preset.ALS,
    Capture.MOBILE_LIDAR: Preset.ALS,  # sparse, noisy, moving sensor: closer to ALS than TLS
    Capture.TERRESTRIAL_LIDAR: Preset.TLS,
    Capture.PHOTOGRAMMETRY: Preset.PHOTOGRAMMETRY,
}


class Registration(StrEnum):
    """How an epoch is aligned to the reference epoch."""

    NONE = "none"                       # keep the georeference (residuals are still measured)
    ICP = "icp"                         # stable-area ICP
    CONTROL_POINTS = "control-points"   # Helmert fit of ground control points


# Surveyed airborne data is already in the site CRS: keep it. Ground-based and image-based
# captures are usually placed less exactly and get stable-area ICP.
DEFAULT_REGISTRATION: dict[Capture, Registration] = {
    Capture.AIRBORNE_LIDAR: Registration.NONE,
    Capture.MOBILE_LIDAR: Registration.ICP,
    Capture.TERRESTRIAL_LIDAR: Registration.ICP,
    Capture.PHOTOGRAMMETRY: Registration.ICP,
}


class _CrossFieldErrors(ValueError):
    """Problems found across fields, each with a location relative to the validated object.

    pydantic reports an exception raised in a model validator at the model's own location;
    carrying the relative locations lets :func:`validation_problems` name the exact field.
    """

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]):
        self.problems = problems
        super().__init__("; ".join(f"{_join_loc(loc)}: {msg}" for loc, msg in problems))


# --- field types -----------------------------------------------------------------------------

def _finite_number(value: Any) -> Any:
    # bool is an int in Python; TOML `true` is never a coordinate.
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    return value


Float = Annotated[float, BeforeValidator(_finite_number),
                  Field(strict=True, allow_inf_nan=False)]
"""A finite float64; integers are accepted, strings and booleans are not."""


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[StrictStr, AfterValidator(_text)]

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def _slug(value: str) -> str:
    if not _SLUG_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a slug: use 1-64 lowercase letters a-z, digits "
                         "and '-', starting and ending with a letter or digit "
                         "(e.g. 'schloss-oberhausen')")
    return check_name(value, "id")


Slug = Annotated[StrictStr, AfterValidator(_slug),
                 Field(json_schema_extra={"pattern": _SLUG_RE.pattern})]

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _epoch_id(value: Any) -> Any:
    # TOML has native dates (`id = 2024-05-02`); accept them as the same ISO string.
    if isinstance(value, datetime):
        raise ValueError("must be a date without a time of day, e.g. \"2024-05-02\"")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return value  # the str validator reports the wrong type
    if not _DATE_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO date: write YYYY-MM-DD, e.g. \"2024-05-02\"")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None
    return check_name(value, "epoch id")


EpochId = Annotated[StrictStr, BeforeValidator(_epoch_id),
                    Field(json_schema_extra={"pattern": _DATE_RE.pattern, "format": "date"})]

_EPSG_RE = re.compile(r"^EPSG:(\d{4,6})(?:\+(\d{4,6}))?$", re.IGNORECASE)
_WKT_PROJECTED = frozenset({"PROJCRS", "PROJCS", "PROJECTEDCRS", "COMPOUNDCRS", "COMPD_CS",
                            "BOUNDCRS"})
_WKT_OTHER = frozenset({"GEOGCRS", "GEOGCS", "GEOGRAPHICCRS", "GEODCRS", "GEODETICCRS",
                        "GEOCCS", "VERTCRS", "VERT_CS", "VERTICALCRS", "ENGCRS", "LOCAL_CS"})
# Common geographic/geocentric codes someone may paste in by mistake; the full check that a
# code is projected needs pyproj and happens in processing.
_NOT_PROJECTED_EPSG = frozenset({"4326", "4258", "4979", "4937", "4978", "4936"})
_CRS_HINT = ("write 'EPSG:<code>', 'EPSG:<horizontal code>+<vertical code>' "
             "(e.g. 'EPSG:25832+7837') or a WKT definition")


def _crs(value: str, projected: bool) -> str:
    text = value.strip()
    match = _EPSG_RE.fullmatch(text)
    if match:
        if projected and match[1] in _NOT_PROJECTED_EPSG:
            raise ValueError(f"EPSG:{match[1]} is geographic or geocentric; the site needs a "
                             "projected CRS in metres, e.g. 'EPSG:25832+7837'")
        return f"EPSG:{match[1]}" + (f"+{match[2]}" if match[2] else "")
    keyword = text.split("[", 1)[0].strip().upper()
    if "[" in text and text.endswith("]") and text.count("[") == text.count("]"):
        if keyword in _WKT_PROJECTED:
            return text
        if keyword in _WKT_OTHER:
            if projected:
                raise ValueError(f"the WKT is a {keyword}, not a projected CRS; the site needs "
                                 "a projected CRS in metres, e.g. 'EPSG:25832+7837'")
            return text
    raise ValueError(f"{value[:60]!r} is not a CRS this manifest understands; {_CRS_HINT}")


ProjectedCrs = Annotated[StrictStr, AfterValidator(lambda v: _crs(v, projected=True))]
AnyCrs = Annotated[StrictStr, AfterValidator(lambda v: _crs(v, projected=False))]

_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _sha256(value: str) -> str:
    if not _SHA256_RE.fullmatch(value):
        raise ValueError(f"must be 64 hexadecimal digits (got {len(value)} characters: "
                         f"{value[:70]!r})")
    return value.lower()


Sha256 = Annotated[StrictStr, AfterValidator(_sha256),
                   Field(json_schema_extra={"pattern": _SHA256_RE.pattern})]

_OVERRIDE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _override_key(value: str) -> str:
    if not _OVERRIDE_KEY_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a preset parameter name (lowercase letters, digits "
                         "and '_', e.g. voxel_size)")
    return value


def _scalar(value: Any) -> Any:
    if not isinstance(value, bool | int | float | str):
        raise ValueError(f"must be a number, true/false, text or a list of them, not "
                         f"{type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _override_value(value: Any) -> Any:
    # Some preset parameters are lists (e.g. drop_classes = [7, 18]); nothing deeper.
    if isinstance(value, list | tuple):
        return tuple(_scalar(item) for item in value)
    return _scalar(value)


OverrideKey = Annotated[StrictStr, AfterValidator(_override_key)]
_Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
Scalar = Annotated[_Scalar | tuple[_Scalar, ...], BeforeValidator(_override_value)]
Point3 = tuple[Float, Float, Float]


# --- models ----------------------------------------------------------------------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Model):
    """A text in German and English (the two languages of every public view)."""

    de: Text = Field(description="German text")
    en: Text = Field(description="English text")

    def get(self, language: str) -> str:
        """The text in ``language`` (``"de"`` or ``"en"``); English for any other language."""
        return self.de if language.lower().startswith("de") else self.en


class Location(_Model):
    """Where the site is, in WGS84 degrees (for maps and catalogues, not for geometry)."""

    lat: Float = Field(ge=-90, le=90, description="latitude in degrees north, WGS84")
    lon: Float = Field(ge=-180, le=180, description="longitude in degrees east, WGS84")


def _boundary(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    # A ring may be written closed (last point = first); store it open, once.
    if len(points) > 1 and points[0] == points[-1]:
        points = points[:-1]
    if len(set(points)) < 3:
        raise ValueError("needs at least 3 different points")
    if len(set(points)) != len(points):
        raise ValueError("repeats a point; list each corner once")
    crossing = _self_intersection(points)
    if crossing is not None:
        i, j = crossing
        raise ValueError(f"crosses itself: the edge from point {i} to {i + 1} meets the edge "
                         f"from point {j} to {(j + 1) % len(points)}; list the corners in order "
                         "around the site")
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
                in zip(points, points[1:] + points[:1], strict=True))
    if area2 == 0:
        raise ValueError("has no area (all points on one line)")
    return points


def _self_intersection(ring: Sequence[tuple[float, float]]) -> tuple[int, int] | None:
    """First pair of non-adjacent edges that touch or cross (O(n^2); boundaries are small)."""
    n = len(ring)

    def orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> int:
        cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (cross > 0) - (cross < 0)

    def on_segment(a: tuple[float, float], b: tuple[float, float],
                   c: tuple[float, float]) -> bool:
        return (min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
                and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))

    boxes = [(min(ring[k][0], ring[(k + 1) % n][0]), max(ring[k][0], ring[(k + 1) % n][0]),
              min(ring[k][1], ring[(k + 1) % n][1]), max(ring[k][1], ring[(k + 1) % n][1]))
             for k in range(n)]
    for i in range(n):
        a, b = ring[i], ring[(i + 1) % n]
        x0, x1, y0, y1 = boxes[i]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent edges share a corner by design
            bx0, bx1, by0, by1 = boxes[j]
            if bx0 > x1 or bx1 < x0 or by0 > y1 or by1 < y0:
                continue  # cheap rejection keeps 1000-point outlines fast
            c, d = ring[j], ring[(j + 1) % n]
            o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
            if o1 != o2 and o3 != o4:
                return i, j
            if ((o1 == 0 and on_segment(a, b, c)) or (o2 == 0 and on_segment(a, b, d))
                    or (o3 == 0 and on_segment(c, d, a)) or (o4 == 0 and on_segment(c, d, b))):
                return i, j
    return None


Boundary = Annotated[tuple[tuple[Float, Float], ...],
                     Field(min_length=3, max_length=1000), AfterValidator(_boundary)]


def _matrix4(rows: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
    if any(len(r) != 4 for r in rows):
        raise ValueError("must be 4 rows of 4 numbers")
    if tuple(rows[3]) != (0.0, 0.0, 0.0, 1.0):
        raise ValueError(f"the last row must be [0, 0, 0, 1] (a rigid or similarity "
                         f"transform), not {list(rows[3])}")
    return rows


Matrix4 = Annotated[tuple[tuple[Float, ...], ...], Field(min_length=4, max_length=4),
                    AfterValidator(_matrix4)]


class Placement(_Model):
    """Where a scan in a local frame (a scanner's or an SfM project's) lies in the site CRS.

    Either ``transform`` (a 4x4 matrix: site CRS = transform · local) or ``origin`` with an
    optional ``rotation`` and ``scale``: site CRS = origin + scale · R · local, with R the
    rotations about x, y, then z (degrees, counter-clockwise seen from the axis' tip)."""

    transform: Matrix4 | None = Field(default=None, description="4x4 matrix (rows) mapping "
                                      "local coordinates to the site CRS")
    origin: Point3 | None = Field(default=None, description="site-CRS position of the local "
                                  "frame's (0, 0, 0)")
    rotation: Point3 = Field(default=(0.0, 0.0, 0.0), description="rotation about x, y, z in "
                             "degrees, applied in that order")
    scale: Float = Field(default=1.0, gt=0, description="units of the local frame in metres "
                         "(e.g. an SfM model's scale, 0.3048 for feet)")

    @model_validator(mode="after")
    def _one_way(self) -> Placement:
        if (self.transform is None) == (self.origin is None):
            raise _CrossFieldErrors([((), "give either transform or origin (with optional "
                                          "rotation and scale), not both and not neither")])
        if self.transform is not None and (self.rotation != (0.0, 0.0, 0.0) or self.scale != 1):
            raise _CrossFieldErrors([((), "rotation and scale go with origin; a transform "
                                          "already contains them")])
        return self


class ControlPoint(_Model):
    """A ground control point: where it is in the epoch's data and where it really is."""

    id: Text = Field(description="name of the point, e.g. 'GCP 3'")
    measured: Point3 = Field(description="its coordinates as the epoch's files have them (the "
                             "files' CRS, or the scanner's local frame)")
    known: Point3 = Field(description="its surveyed coordinates in the site CRS")


class Source(_Model):
    """One file of an epoch, as delivered (LAS/LAZ/COPC, E57, PLY, OBJ, glTF, ...)."""

    path: Text = Field(description="file path; relative paths start at the manifest's folder. "
                                   "Use '/' between folders.")
    sha256: Sha256 | None = Field(default=None, description="expected SHA-256 of the file "
                                  "(64 hex digits); checked before ingest")
    crs: AnyCrs | None = Field(default=None, description="CRS of the coordinates in the file, "
                               "for files that carry none (e.g. 'EPSG:25832+7837')")
    station: Point3 | None = Field(
        default=None, description="position of the scanner of a terrestrial station (x, y, z "
        "in the file's CRS); lets the privacy step find people and vehicles that another "
        "station saw through")
    placement: Placement | None = Field(default=None, description="for a scan in a local "
                                        "frame: how its coordinates map into the site CRS")

    @model_validator(mode="after")
    def _placement_or_crs(self) -> Source:
        if self.placement is not None and self.crs is not None:
            raise _CrossFieldErrors([(("placement",), "a placed source is in a local frame; "
                                      "remove crs (the placement maps it into the site CRS)")])
        return self

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if "\\" in value:
            raise ValueError("use '/' between folders, not '\\'")
        check_name(PurePosixPath(value).name, "source file name")
        return value

    @property
    def name(self) -> str:
        """The file name, as stored in the archive under ``epochs/<epoch>/source/``."""
        return PurePosixPath(self.path).name


#: Captures whose epochs run the privacy step unless the manifest says otherwise: they are
#: taken from street level, close to people and cars.
PRIVACY_BY_DEFAULT = frozenset({"terrestrial-lidar", "mobile-lidar", "photogrammetry"})


class Privacy(_Model):
    """The privacy step of one epoch: what it blurs and removes (docs/PRIVACY.md)."""

    enabled: StrictBool | None = Field(
        default=None, description="run the privacy step; default on for terrestrial-lidar, "
        "mobile-lidar and photogrammetry, off for airborne-lidar")
    faces: StrictBool = Field(default=True, description="blur faces in textures")
    plates: StrictBool = Field(default=True, description="blur number plates in textures")
    transients: StrictBool = Field(
        default=True, description="remove points of people and vehicles that another station or "
        "flight strip saw through")
    remove_classes: tuple[Annotated[StrictInt, Field(ge=0, le=255)], ...] = Field(
        default=(), description="LAS classification codes to remove (e.g. a delivery's own "
        "class for people or vehicles, such as 64)")


class Epoch(_Model):
    """One capture of the site: a date, how it was captured, and the delivered files."""

    id: EpochId = Field(description="capture date as YYYY-MM-DD; unique within the site")
    capture: Capture = Field(description="how the site was captured")
    sensor: Text = Field(description="instrument, e.g. 'Leica RTC360'")
    operator: Text = Field(description="who captured the data")
    sources: tuple[Source, ...] = Field(min_length=1, description="the delivered files")
    preset: Preset = Field(
        default=None, validate_default=True,
        description="processing preset; default by capture: airborne-lidar and mobile-lidar "
                    "-> als, terrestrial-lidar -> tls, photogrammetry -> photogrammetry",
        json_schema_extra=lambda schema: schema.pop("default", None))
    overrides: dict[OverrideKey, Scalar] = Field(
        default_factory=dict,
        description="preset parameters to change for this epoch (name = value, value a "
                    "number, true/false, text or a list of them); names, types and ranges "
                    "are checked by the processing presets")
    coarse_registration: StrictBool = Field(
        default=False, description="true when the epoch is not georeferenced well enough for "
                                   "fine registration alone and needs a coarse alignment first")
    privacy: Privacy = Field(default_factory=Privacy, description="the privacy step: blur "
                             "faces and plates, remove transient people and vehicles")

    @property
    def privacy_enabled(self) -> bool:
        """Whether the privacy step runs: the manifest's choice, else the capture's default."""
        if self.privacy.enabled is not None:
            return self.privacy.enabled
        return str(self.capture) in PRIVACY_BY_DEFAULT
    registration: Registration = Field(
        default=None, validate_default=True,
        description="how the epoch is aligned to the reference epoch: none (keep the "
                    "georeference), icp (stable-area ICP) or control-points (Helmert fit of "
                    "control_points); default none for airborne-lidar, icp otherwise",
        json_schema_extra=lambda schema: schema.pop("default", None))
    control_points: tuple[ControlPoint, ...] = Field(
        default=(), description="ground control points for registration = \"control-points\" "
                                "(at least 3)")

    @field_validator("preset", mode="before")
    @classmethod
    def _default_preset(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            return value
        capture = info.data.get("capture")
        # Without a valid capture the epoch already fails; any preset avoids a second error.
        return DEFAULT_PRESET.get(capture, Preset.ALS) if capture else Preset.ALS

    @field_validator("registration", mode="before")
    @classmethod
    def _default_registration(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            return value
        if info.data.get("coarse_registration"):
            return Registration.ICP
        return DEFAULT_REGISTRATION.get(info.data.get("capture"), Registration.ICP)

    @model_validator(mode="after")
    def _unique_file_names(self) -> Epoch:
        seen: dict[str, int] = {}
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.registration == Registration.CONTROL_POINTS and len(self.control_points) < 3:
            problems.append((("control_points",), f'registration = "control-points" needs at '
                             f"least 3 control points with measured and known coordinates; "
                             f"{len(self.control_points)} given"))
        if self.control_points and self.registration != Registration.CONTROL_POINTS:
            problems.append((("control_points",), "control points are only used with "
                             f'registration = "control-points" (this epoch: '
                             f'"{self.registration}"); set it or remove them'))
        ids = [p.id for p in self.control_points]
        for index, cp in enumerate(ids):
            if ids.index(cp) != index:
                problems.append((("control_points", index, "id"),
                                 f"control point id {cp!r} is used twice"))
        for index, source in enumerate(self.sources):
            if source.name in seen:
                problems.append((("sources", index, "path"),
                                 f"file name {source.name!r} is also used by "
                                 f"sources[{seen[source.name]}]; files of one epoch are stored "
                                 "side by side, so rename one of them"))
            seen.setdefault(source.name, index)
        if problems:
            raise _CrossFieldErrors(problems)
        return self


class Annotation(_Model):
    """A hotspot shown in the viewer: a point in the site frame with a bilingual text."""

    id: Slug = Field(description="unique within the site, e.g. 'roof-platform'")
    position: Point3 = Field(description="x, y, z in metres in the site frame (east, north, "
                                         "up relative to the origin)")
    title: LocalizedText = Field(description="short title")
    text: LocalizedText = Field(description="one or a few sentences")
    epochs: tuple[EpochId, ...] = Field(default=(), description="epochs in which it is shown; "
                                        "empty means all")


class SiteManifest(_Model):
    """The manifest of one site: what it is, where it is, and every capture (epoch) of it."""

    model_config = ConfigDict(title="stadtzeit site manifest")

    id: Slug = Field(description="site id: lowercase letters, digits and '-', e.g. 'gasometer'; "
                               "not ending in '--restricted' (the archive's name for the "
                               "site's restricted part)")
    name: LocalizedText = Field(description="name of the site")
    description: LocalizedText = Field(description="a few sentences about the site")
    location: Location = Field(description="WGS84 position for maps and catalogues")
    crs: ProjectedCrs = Field(default=DEFAULT_CRS, description="projected CRS of the site "
                              "(metres); default ETRS89 / UTM 32N + DHHN2016 heights")
    origin: Point3 = Field(description="E, N, H of the site frame's origin in the site CRS; "
                                       "all geometry is stored relative to it")
    boundary: Boundary | None = Field(default=None, description="outline of the site as "
                                      "[E, N] corners in the site CRS, in order, not crossing")
    licence: Text = Field(description="licence of the products: SPDX id (e.g. 'CC-BY-4.0') "
                                      "or its text")
    attribution: Text = Field(description="credit line shown with every view and export")
    reference_epoch: EpochId | None = Field(default=None, description="epoch the others are "
                                            "registered to; default the earliest epoch")
    epochs: tuple[Epoch, ...] = Field(min_length=1, description="the captures of the site")
    annotations: tuple[Annotation, ...] = Field(default=(), description="hotspots")

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("id")
    @classmethod
    def _not_restricted(cls, value: str) -> str:
        if value.endswith("--restricted"):
            raise ValueError("a site id may not end in '--restricted': the archive keeps each "
                             "site's originals under that name; choose another id")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> SiteManifest:
        problems = cross_problems(self.model_dump(include={"epochs", "reference_epoch",
                                                           "annotations"}))
        if problems:
            raise _CrossFieldErrors(problems)
        return self

    # --- helpers ---------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path | None:
        """Absolute path of the TOML file it was loaded from (``None`` if built otherwise)."""
        return self._path

    @property
    def epoch_ids(self) -> tuple[str, ...]:
        """Epoch ids in the order of the manifest."""
        return tuple(e.id for e in self.epochs)

    @property
    def reference_epoch_id(self) -> str:
        """``reference_epoch`` if given, else the earliest epoch."""
        return self.reference_epoch or min(self.epoch_ids)

    def epoch(self, epoch_id: str | date) -> Epoch:
        """The epoch with this id; raises :class:`UnknownEpochError`."""
        key = epoch_id.isoformat() if isinstance(epoch_id, date) else str(epoch_id)
        for epoch in self.epochs:
            if epoch.id == key:
                return epoch
        raise UnknownEpochError(self.id, key, list(self.epoch_ids))

    def resolve_source(self, source: Source | str) -> Path:
        """The path of a source file; relative paths start at the manifest's folder."""
        raw = source.path if isinstance(source, Source) else source
        path = Path(raw)
        if path.is_absolute():
            return path
        if self._path is None:
            raise ManifestError(f"<site {self.id}>", [("", (
                f"cannot resolve the relative source path {raw!r}: this manifest was not "
                "loaded from a file; load it with load_manifest(path) or pass path= to "
                "SiteManifest.from_json_dict"))])
        return self._path.parent / path

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict in field order (what ``site.json`` stores)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any], *,
                       path: str | PathLike[str] | None = None,
                       name: str = "site.json") -> SiteManifest:
        """Validate a dict written by :meth:`to_json_dict` (e.g. ``site.json`` from the archive).

        ``path`` is the manifest file whose folder relative source paths start at, if any;
        ``name`` names the data in a :class:`ManifestError`.
        """
        if not isinstance(data, Mapping):
            raise ManifestError(name, [("", f"must be a JSON object, not {type(data).__name__}")])
        try:
            manifest = cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ManifestError(name, validation_problems(exc, data)) from None
        if path is not None:
            manifest._path = Path(path).absolute()
        return manifest


# --- cross-field checks and error paths -------------------------------------------------------

def _id_key(value: Any) -> str | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, str) else None


def cross_problems(data: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Duplicate ids and references to unknown epochs, on raw or validated data.

    Works on the raw TOML too, so these problems are reported together with field errors.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    epochs = data.get("epochs")
    epochs = epochs if isinstance(epochs, list | tuple) else []
    ids = [_id_key(e.get("id")) if isinstance(e, Mapping) else None for e in epochs]
    first: dict[str, int] = {}
    for index, key in enumerate(ids):
        if key is None:
            continue
        if key in first:
            problems.append((("epochs", index, "id"),
                             f"epoch id {key!r} is also used by epochs[{first[key]}]; each "
                             "epoch needs its own date (merge the sources of one day into "
                             "one epoch)"))
        first.setdefault(key, index)
    known = sorted(first)
    listing = ", ".join(known) or "(none)"

    ref = _id_key(data.get("reference_epoch"))
    if ref is not None and epochs and ref not in first:
        problems.append((("reference_epoch",),
                         f"names epoch {ref!r}, which is not in this manifest; "
                         f"epochs are: {listing}"))

    annotations = data.get("annotations")
    seen: dict[str, int] = {}
    for a_index, ann in enumerate(annotations if isinstance(annotations, list | tuple) else []):
        if not isinstance(ann, Mapping):
            continue
        ann_id = ann.get("id")
        if isinstance(ann_id, str):
            if ann_id in seen:
                problems.append((("annotations", a_index, "id"),
                                 f"annotation id {ann_id!r} is also used by "
                                 f"annotations[{seen[ann_id]}]"))
            seen.setdefault(ann_id, a_index)
        refs = ann.get("epochs")
        for e_index, value in enumerate(refs if isinstance(refs, list | tuple) else []):
            key = _id_key(value)
            if key is not None and epochs and key not in first:
                problems.append((("annotations", a_index, "epochs", e_index),
                                 f"names epoch {key!r}, which is not in this manifest; "
                                 f"epochs are: {listing}"))
    return problems


def _join_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_field_path(loc: Sequence[str | int], data: Any) -> str:
    """``('epochs', 1, 'capture')`` -> ``epochs[1] (2024-05-02).capture`` using the raw data."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list | tuple) and -len(node) <= part < len(
                node) else None
            out += f"[{part}]"
            ident = item.get("id") if isinstance(item, Mapping) else None
            if isinstance(ident, str | date) and str(ident):
                out += f" ({ident})"
            node = item
        elif part == "[key]":
            out += " (key)"  # pydantic's marker for a bad dict key
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = SiteManifest
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in get_args(tp):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_TYPE_WORDS = {
    "model_type": "a table ([name] or { key = value })", "dict_type": "a table",
    "model_attributes_type": "a table", "tuple_type": "a list [ ... ]",
    "list_type": "a list [ ... ]", "string_type": "text in quotes",
    "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
}


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "missing":
        if loc and isinstance(loc[-1], int):
            return "value missing: the list is too short"
        return "required key is missing"
    if kind == "too_short":
        need = err.get("ctx", {}).get("min_length")
        return f"needs at least {need} entr{'y' if need == 1 else 'ies'}"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else ""
        return (f"unknown key {loc[-1]!r}; check the spelling"
                + (f" (allowed here: {allowed})" if allowed else ""))
    error = err.get("ctx", {}).get("error")
    if kind in ("value_error", "assertion_error") and error is not None:
        return str(error)
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, not {_short_repr(err.get('input'))}"
    return f"{err['msg']} (got {_short_repr(err.get('input'))})"


def validation_problems(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """Turn a pydantic error into ``(field_path, reason)`` pairs; ``data`` is the raw input.

    When fields failed, the model-level cross-checks did not run; run them on the raw data
    so that one pass reports everything.
    """
    problems: list[tuple[str, str]] = []
    crossed = False
    errors = exc.errors(include_url=False)
    failed_inside = {tuple(err["loc"][:n]) for err in errors for n in range(len(err["loc"]))}
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and loc in failed_inside:
            continue  # pydantic drops failed items, then counts too few: not a real problem
        error = err.get("ctx", {}).get("error")
        if isinstance(error, _CrossFieldErrors):
            crossed = crossed or not loc  # the site-level check ran
            problems.extend((format_field_path(loc + rel, data), msg)
                            for rel, msg in error.problems)
        else:
            problems.append((format_field_path(loc, data), _reason(err)))
    if not crossed and isinstance(data, Mapping):
        have = set(problems)
        for rel, msg in cross_problems(data):
            item = (format_field_path(rel, data), msg)
            if item not in have:
                problems.append(item)
    return problems
