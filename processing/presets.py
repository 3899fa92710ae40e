"""Named parameter sets for the pipeline stages, one per kind of capture.

A :class:`Preset` holds every parameter of every stage (cleaning, registration, surface
reconstruction, level of detail), so that one object — recorded in ``epoch.json`` through
:meth:`Preset.to_dict` — says exactly how a product was made.  Manifests pick a preset by name
and may override single fields; :func:`get_preset` validates each override by name, type and range
so a typo in a manifest fails loudly instead of being ignored.

All lengths are metres in the site frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from processing.errors import ProcessingError

SURFACE_METHODS = ("poisson", "bpa", "delaunay25d")
NORMAL_ORIENTATIONS = ("up", "tangent", "none")


def _p(default: Any, *, lo: float | None = None, hi: float | None = None,
       choices: tuple[str, ...] | None = None, open_lo: bool = False, min_len: int = 0,
       unit: str = "", doc: str = "") -> Any:
    """A dataclass field with validation metadata (range, choices, unit) and a one-line
    description; docs/PRESETS.md is generated from them (:func:`presets_markdown`)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices,
                                            "open_lo": open_lo, "min_len": min_len,
                                            "unit": unit, "doc": doc})


@dataclass(frozen=True)
class Preset:
    """Every parameter of every pipeline stage; see the field metadata for ranges."""

    name: str = "custom"

    # --- point cleaning (processing.clean) ---
    crop_to_boundary: bool = _p(True, doc="drop points outside the site boundary polygon")
    drop_classes: tuple[int, ...] = _p((7, 18), lo=0, hi=255,
                                       doc="ASPRS classes removed (7 low noise, 18 high noise)")
    outlier_removal: bool = _p(True, doc="run statistical outlier removal")
    outlier_nb_neighbors: int = _p(20, lo=2, hi=1000, doc="k for the mean k-NN distance")
    outlier_std_ratio: float = _p(2.0, lo=0.0, open_lo=True,
                                  doc="keep points whose mean k-NN distance < mean + r*std")
    voxel_size: float = _p(0.05, unit="m", lo=0.0,
                           doc="voxel downsampling edge; 0 keeps every point")
    normal_radius: float = _p(0.5, unit="m", lo=0.0, open_lo=True,
                              doc="normal estimation search radius")
    normal_max_nn: int = _p(30, lo=3, hi=1000, doc="normal estimation max neighbours")
    normal_orientation: str = _p("up", choices=NORMAL_ORIENTATIONS,
                                 doc="orient normals: towards +z, consistent tangent plane, none")

    # --- registration (processing.register) ---
    icp_max_distance: float = _p(0.5, unit="m", lo=0.0, open_lo=True,
                                 doc="max correspondence distance of ICP")
    icp_voxel_size: float = _p(0.25, unit="m", lo=0.0,
                               doc="voxel for the ICP copies; 0 uses all points")
    icp_max_iterations: int = _p(50, lo=1, hi=10000, doc="ICP iteration limit")
    icp_relative_rmse: float = _p(1e-7, lo=0.0, doc="ICP stops when RMSE changes less")
    icp_rmse_limit: float = _p(0.05, unit="m", lo=0.0, open_lo=True,
                               doc="registration fails above this inlier RMSE (m)")
    icp_min_fitness: float = _p(0.1, lo=0.0, hi=1.0,
                                doc="registration fails below this inlier fraction")
    icp_overlap: float = _p(1.0, lo=0.0, hi=1.0, open_lo=True,
                            doc="trimmed ICP: share of the best correspondences used per step")
    registration_tolerance: float = _p(1.0, lo=0.0, open_lo=True,
                                       doc="refuse a transform that moves any point further (m)")
    control_point_max_residual: float = _p(0.05, lo=0.0, open_lo=True,
                                           doc="refuse a control-point fit with a larger "
                                               "residual (m)")
    coarse_registration: bool = _p(False, doc="run FPFH+RANSAC before ICP")
    coarse_voxel_size: float = _p(1.0, unit="m", lo=0.0, open_lo=True,
                                  doc="voxel for FPFH features")
    coarse_feature_radius_factor: float = _p(5.0, lo=0.0, open_lo=True,
                                             doc="FPFH radius = factor * coarse voxel")
    coarse_normal_radius_factor: float = _p(2.0, lo=0.0, open_lo=True,
                                            doc="normal radius = factor * coarse voxel")
    coarse_distance_factor: float = _p(1.5, lo=0.0, open_lo=True,
                                       doc="RANSAC inlier distance = factor * coarse voxel")
    coarse_max_iterations: int = _p(100_000, lo=1, hi=100_000_000, doc="RANSAC iterations")
    coarse_confidence: float = _p(0.999, lo=0.0, hi=1.0, open_lo=True, doc="RANSAC confidence")
    coarse_seed: int = _p(0, lo=0, hi=2**31 - 1, doc="RANSAC random seed (reproducible runs)")

    # --- surface reconstruction (processing.surface) ---
    surface_method: str = _p("poisson", choices=SURFACE_METHODS, doc="meshing method")
    poisson_depth: int = _p(10, lo=4, hi=14, doc="octree depth of screened Poisson")
    poisson_density_quantile: float = _p(0.02, lo=0.0, hi=0.99,
                                         doc="trim vertices below this quantile of density")
    bpa_radius_factors: tuple[float, ...] = _p((1.5, 3.0, 6.0), lo=0.0, open_lo=True, min_len=1,
                                               doc="ball radii = factor * mean NN spacing")
    delaunay_max_edge: float = _p(2.0, unit="m", lo=0.0, open_lo=True,
                                  doc="2.5D: drop triangles with an XY edge longer than this")
    delaunay_xy_cell: float = _p(0.0, unit="m", lo=0.0,
                                 doc="2.5D: keep only the highest point per XY cell; 0 = off")

    # --- meshes, levels of detail, textures (processing.meshclean, lod) ---
    lod_fractions: tuple[float, ...] = _p((1.0, 0.25, 0.05), lo=0.0, hi=1.0, open_lo=True,
                                          min_len=1,
                                          doc="face fraction per LOD: 1.0 first, then falling")
    lod_aggressiveness: float = _p(7.0, lo=0.0, hi=10.0,
                                   doc="fast-simplification agg (higher = faster, coarser)")
    lod_preserve_border: bool = _p(False,
                                   doc="never collapse open-border edges (keeps a partial "
                                       "surface's outline; UV seams need not: see lod.py)")
    texture_size: int = _p(4096, unit="px", lo=64, hi=16384,
                           doc="max texture edge of lod0; coarser levels scale with their faces")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able parameters (tuples as lists) for provenance."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def replace(self, **changes: Any) -> Preset:
        """A copy with ``changes`` validated like manifest overrides."""
        return _apply(self, changes)


def als() -> Preset:
    """Airborne LiDAR: a 2.5D Delaunay surface.

    An airborne scanner looks down: it samples roofs, ground and canopy at a few to a few dozen
    points per m², and sees walls only at grazing angles, if at all.  The data is a height field,
    so a Delaunay triangulation of XY with the measured z is exact where there are points and
    honest where there are none: triangles whose XY edges exceed ``delaunay_max_edge`` are
    dropped, so water, occlusions and gaps between flight strips stay holes.  Screened Poisson
    would need full-3D normals and closes everything: it invents blobs under bridges, eaves and
    trees and balloons the unsampled walls.  Points are not voxel-thinned (ALS is already
    sparse); ICP tolerances are wider because ALS accuracy is ~5–15 cm.

    The mesh keeps the highest point per 0.25 m cell (``delaunay_xy_cell``): a surface model
    has one height per place, so ground echoes under a crown would only make spikes, and dense
    deliveries (tens of points per m²) mesh in a fraction of the time and memory — a 10 M-point
    tile at ~60 points/m² goes from 10 M to ~2.5 M triangulated points. ``points.laz`` keeps
    every cleaned point.
    """
    return Preset(
        name="als", voxel_size=0.0, outlier_nb_neighbors=12, outlier_std_ratio=3.0,
        normal_radius=1.5, icp_max_distance=1.0, icp_voxel_size=0.5, icp_rmse_limit=0.15,
        coarse_voxel_size=2.0, surface_method="delaunay25d", delaunay_max_edge=3.0,
        delaunay_xy_cell=0.25,
        poisson_depth=9, texture_size=2048,
    )


def tls() -> Preset:
    """Terrestrial (and mobile) LiDAR: screened Poisson with low-density trimming.

    Terrestrial scans are dense (mm–cm spacing) and see facades, soffits and ground in full 3D,
    which is what Poisson needs.  The solver closes small holes smoothly; the vertices it places
    far from any sample (low Poisson density) are trimmed below ``poisson_density_quantile``, so
    the closed "skin" over unscanned areas goes away.  Normals are oriented by a consistent
    tangent plane because walls defeat a simple "up" rule.
    """
    return Preset(
        name="tls", voxel_size=0.02, outlier_nb_neighbors=20, outlier_std_ratio=2.0,
        normal_radius=0.1, normal_max_nn=30, normal_orientation="tangent",
        icp_max_distance=0.2, icp_voxel_size=0.1, icp_rmse_limit=0.03,
        registration_tolerance=0.5,
        coarse_voxel_size=0.5, surface_method="poisson", poisson_depth=10,
        poisson_density_quantile=0.02, texture_size=4096,
    )


def photogrammetry() -> Preset:
    """Photogrammetry: usually a textured mesh already — clean and decimate only.

    Meshes go through ``meshclean`` and ``lod`` (no surface reconstruction; texture and UVs are
    kept, and LODs keep open borders so UV seams do not crack).  Dense point clouds from
    photogrammetry (coloured, full 3D, noisier than TLS) get screened Poisson with a stronger
    density trim; ball pivoting (``surface_method="bpa"``) is the alternative when true holes
    must stay holes.
    """
    return Preset(
        name="photogrammetry", drop_classes=(), voxel_size=0.01,
        outlier_nb_neighbors=30, outlier_std_ratio=2.0, normal_radius=0.05,
        normal_orientation="tangent", icp_max_distance=0.2, icp_voxel_size=0.1,
        icp_rmse_limit=0.05, registration_tolerance=0.5, coarse_voxel_size=0.5,
        surface_method="poisson", poisson_depth=10,
        poisson_density_quantile=0.05, lod_preserve_border=True, texture_size=8192,
    )


PRESETS: dict[str, Preset] = {p.name: p for p in (als(), tls(), photogrammetry())}

#: Default preset per manifest ``capture`` type.
PRESET_FOR_CAPTURE: dict[str, str] = {
    "airborne-lidar": "als",
    "terrestrial-lidar": "tls",
    "mobile-lidar": "tls",
    "photogrammetry": "photogrammetry",
}

_FIELDS = {f.name: f for f in dataclasses.fields(Preset) if f.name != "name"}


def presets_markdown() -> str:
    """The table of every preset parameter in docs/PRESETS.md (generated, so it cannot drift
    from the code: tests/test_hostile_input.py compares them)."""
    names = preset_names()
    lines = [
        "# Processing presets", "",
        "<!-- generated by processing.presets.presets_markdown(); do not edit: run",
        "     python -c 'from processing.presets import presets_markdown as m; print(m(), "
        "end=\"\")' > docs/PRESETS.md -->", "",
        "Every epoch is processed with a preset: `als` (airborne LiDAR), `tls` (terrestrial "
        "and mobile LiDAR) or `photogrammetry`, chosen by the epoch's `capture` or its `preset`"
        " key. `overrides = { name = value, … }` in the epoch changes single parameters; "
        "`stadtzeit manifest validate` checks names, types and ranges. Lengths are metres in "
        "the site frame.", "",
        "| parameter | unit | " + " | ".join(f"`{n}`" for n in names)
        + " | allowed | meaning |",
        "|---|---|" + "---|" * len(names) + "---|---|"]
    for name, f in _FIELDS.items():
        meta = f.metadata
        values = [_md_value(getattr(PRESETS[n], name)) for n in names]
        lines.append(f"| `{name}` | {meta['unit']} | " + " | ".join(values)
                     + f" | {_md_range(f)} | {meta['doc']} |")
    return "\n".join(lines) + "\n"


def _md_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "[" + ", ".join(_md_value(x) for x in v) + "]"
    return f"`{v}`" if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)


def _md_range(f: dataclasses.Field) -> str:
    meta = f.metadata
    if meta["choices"]:
        return " / ".join(f"`{c}`" for c in meta["choices"])
    kind = f.type if isinstance(f.type, str) else str(f.type)
    if kind == "bool":
        return "true / false"
    lo, hi = meta["lo"], meta["hi"]
    parts = []
    if lo is not None:
        parts.append(f"{'>' if meta['open_lo'] else '≥'} {lo:g}")
    if hi is not None:
        parts.append(f"≤ {hi:g}")
    text = ", ".join(parts) or "any"
    return f"list, each {text}" if kind.startswith("tuple") else text


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str, overrides: dict[str, Any] | None = None) -> Preset:
    """The named preset with ``overrides`` (field name -> value) applied and validated."""
    try:
        base = PRESETS[name]
    except KeyError:
        raise ProcessingError(
            f"unknown preset {name!r}; valid presets: {', '.join(preset_names())}") from None
    return _apply(base, overrides or {})


def override_problems(name: str, overrides: dict[str, Any]) -> list[tuple[str, str]]:
    """``(parameter, reason)`` for every override that :func:`get_preset` would refuse, all at
    once (``manifest validate`` reports them before an ingest starts)."""
    if name not in PRESETS:
        return [("", f"unknown preset {name!r}; valid presets: {', '.join(preset_names())}")]
    problems = []
    for key, value in overrides.items():
        if key not in _FIELDS:
            problems.append((key, _unknown(name, [key])))
            continue
        try:
            _check(name, _FIELDS[key], value)
        except ProcessingError as exc:
            problems.append((key, str(exc)))
    return problems


def _unknown(preset: str, keys: list[str]) -> str:
    import difflib

    hints = [f"did you mean {close[0]!r} for {k!r}?" for k in keys
             if (close := difflib.get_close_matches(k, _FIELDS, n=1))]
    return (f"preset {preset!r}: unknown parameter(s) {', '.join(map(repr, keys))}"
            + (f" ({' '.join(hints)})" if hints else "")
            + f"; valid parameters: {', '.join(sorted(_FIELDS))} (see docs/PRESETS.md)")


def _apply(base: Preset, overrides: dict[str, Any]) -> Preset:
    unknown = sorted(k for k in overrides if k not in _FIELDS)
    if unknown:
        raise ProcessingError(_unknown(base.name, unknown))
    clean = {k: _check(base.name, _FIELDS[k], v) for k, v in overrides.items()}
    return dataclasses.replace(base, **clean)


def _check(preset: str, f: dataclasses.Field, value: Any) -> Any:
    """Coerce ``value`` to the field's type (int -> float, list -> tuple) and check its range."""
    where = f"preset {preset!r}, parameter {f.name!r}"
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    meta = f.metadata

    def scalar(v: Any, typ: str) -> Any:
        # bool is an int in Python: refuse it where a number is meant, and vice versa
        if typ == "bool":
            if not isinstance(v, bool):
                raise ProcessingError(f"{where}: expected true or false, got {v!r}")
            return v
        if isinstance(v, bool):
            raise ProcessingError(f"{where}: expected a number, got {v!r}")
        if typ == "int":
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if not isinstance(v, int):
                raise ProcessingError(f"{where}: expected an integer, got {v!r}")
        elif typ == "float":
            if not isinstance(v, int | float) or not math.isfinite(v):
                raise ProcessingError(f"{where}: expected a finite number, got {v!r}")
            v = float(v)
        elif typ == "str":
            if not isinstance(v, str):
                raise ProcessingError(f"{where}: expected a string, got {v!r}")
            if meta["choices"] and v not in meta["choices"]:
                raise ProcessingError(
                    f"{where}: {v!r} is not one of {', '.join(meta['choices'])}")
            return v
        lo, hi = meta["lo"], meta["hi"]
        if lo is not None and (v < lo or (meta["open_lo"] and v == lo)):
            raise ProcessingError(
                f"{where}: {v!r} must be {'>' if meta['open_lo'] else '>='} {lo}")
        if hi is not None and v > hi:
            raise ProcessingError(f"{where}: {v!r} must be <= {hi}")
        return v

    if kind.startswith("tuple"):
        if not isinstance(value, list | tuple):
            raise ProcessingError(f"{where}: expected a list, got {value!r}")
        item = "int" if "int" in kind else "float"
        out = tuple(scalar(v, item) for v in value)
        if len(out) < meta["min_len"]:
            raise ProcessingError(f"{where}: needs at least {meta['min_len']} value(s)")
        if f.name == "lod_fractions" and (out[0] != 1.0 or any(
                b >= a for a, b in zip(out, out[1:], strict=False))):
            raise ProcessingError(
                f"{where}: {list(out)} must start with 1.0 (lod0 is the full mesh) and fall")
        return out
    return scalar(value, kind)
