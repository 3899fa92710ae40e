"""Write the demo site's sources: LAZ scans, a textured OBJ, the manifest and the change truth.

``build_demo_sources(out_dir)`` lays out::

    out_dir/gasometer-demo.toml                 site manifest (assets_manifest format)
    out_dir/truth.json                          every change between the epochs
    out_dir/sources/2019-06-15/als_strip_<k>.laz        airborne LiDAR, 3 flight lines
    out_dir/sources/2021-09-01/tls_station_<k>.laz      terrestrial LiDAR, 5 stations
    out_dir/sources/2024-05-20/gasometer_2024.obj       photogrammetry mesh (+ .mtl, .jpg)

Everything is a function of the seed (and the ``density``/``texture_size`` knobs tests use to
make a small version): the same arguments give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyproj

from processing.demo import lidar, photo, scene, transients, truth
from processing.demo.scene import EPOCHS, HALF_EXTENT, Site

SITE_ID = "gasometer-demo"
MANIFEST_NAME = f"{SITE_ID}.toml"
# The Gasometer's position as the LVR's KuLaDig register gives it (51°29'37.6"N 6°52'13.4"E,
# UTM 32N 352165.5 E 5706887.3 N); ground height about 37 m above DHHN2016.
LOCATION = (51.49377, 6.87039)
GROUND_HEIGHT = 37.0
CRS = "EPSG:25832+7837"
LICENCE = "CC0-1.0"
ATTRIBUTION = "stadtzeit demo data (synthetic)"
CAPTURE_HOUR_UTC = 9
PHOTO_NAME = "gasometer_2024.obj"


@dataclass(frozen=True)
class DemoSources:
    """What ``build_demo_sources`` wrote, and how long each step took (seconds)."""

    out_dir: Path
    manifest_path: Path
    truth_path: Path
    sources: dict[str, tuple[Path, ...]]          # epoch -> files listed in the manifest
    companions: dict[str, tuple[Path, ...]]       # epoch -> files the sources refer to (MTL…)
    point_counts: dict[str, int]                  # LiDAR epochs: points over all files
    face_counts: dict[str, int]                   # mesh epochs: faces
    origin: tuple[float, float, float]
    crs: str
    timings: dict[str, float] = field(default_factory=dict)


def site_origin() -> tuple[float, float, float]:
    """E, N (EPSG:25832, rounded to the metre) of ``LOCATION``, and the ground height."""
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    e, n = to_utm.transform(LOCATION[1], LOCATION[0])
    return (float(round(e)), float(round(n)), GROUND_HEIGHT)


def _capture_time(epoch: str) -> dt.datetime:
    return dt.datetime.fromisoformat(epoch).replace(hour=CAPTURE_HOUR_UTC, tzinfo=dt.UTC)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# TOML (written by hand: the layout is fixed, and tomllib only reads)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as a TOML value")


def _toml_table(table: dict, prefix: str, lines: list[str]) -> None:
    """Scalars and inline arrays first, then sub-tables, then arrays of tables."""
    for k, v in table.items():
        if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict)):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            lines.extend(["", f"[{prefix}{k}]"])
            _toml_table(v, f"{prefix}{k}.", lines)
    for k, v in table.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.extend(["", f"[[{prefix}{k}]]"])
                _toml_table(item, f"{prefix}{k}.", lines)


def to_toml(doc: dict, header: str = "") -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _toml_table(doc, "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------


def _annotations(site: Site) -> list[dict]:
    def top(fid: str, above: float = 1.0) -> list[float]:
        f = site.feature(fid)
        ground = float(site.terrain.z(*f.axis))
        return [round(f.axis[0], 2), round(f.axis[1], 2), round(ground + f.height + above, 2)]

    e19, e21, e24 = EPOCHS
    felled = site.feature(scene.FELLED_TREE)
    return [
        {"id": "roof-platform", "position": [0.0, 0.0, scene.GASOMETER_HEIGHT],
         "title": {"de": "Dachplattform", "en": "Roof platform"},
         "text": {"de": "Der Gasometer ist 117,5 m hoch und misst 67,6 m im Durchmesser; sein "
                        "Mantel ist ein 24-Eck mit senkrechten Rippen.",
                  "en": "The Gasometer is 117.5 m high and 67.6 m across; its shell is a "
                        "24-sided polygon with vertical ribs."}},
        {"id": "stair-tower", "position": top("stair-tower"),
         "title": {"de": "Treppenturm", "en": "Stair tower"},
         "text": {"de": "Der äußere Treppenturm führt bis zum Dach.",
                  "en": "The outside stair tower leads up to the roof."}},
        {"id": "gabled-building", "position": top("building-gabled"),
         "title": {"de": "Satteldachhaus", "en": "Gabled building"},
         "text": {"de": "Dieses Haus wurde zwischen 2021 und 2024 abgerissen.",
                  "en": "This building was demolished between 2021 and 2024."},
         "epochs": [e19, e21]},
        {"id": "pavilion", "position": top("pavilion"),
         "title": {"de": "Neuer Pavillon", "en": "New pavilion"},
         "text": {"de": "Der gläserne Pavillon entstand zwischen 2019 und 2021.",
                  "en": "The glass pavilion was built between 2019 and 2021."},
         "epochs": [e21, e24]},
        {"id": "felled-tree", "position": top(felled.id),
         "title": {"de": "Gefällter Baum", "en": "Felled tree"},
         "text": {"de": "Dieser Baum wurde vor 2021 gefällt.",
                  "en": "This tree was felled before 2021."},
         "epochs": [e19]},
        {"id": "earth-mound", "position": top("mound"),
         "title": {"de": "Erdhügel", "en": "Earth mound"},
         "text": {"de": "Bis 2024 wurde hier Erde aufgeschüttet (etwa 1860 m³).",
                  "en": "By 2024 earth was heaped up here (about 1860 m³)."},
         "epochs": [e24]},
    ]


def manifest_document(site: Site, origin: tuple[float, float, float],
                      sources: dict[str, list[dict]], als: lidar.AlsConfig,
                      tls: lidar.TlsConfig) -> dict:
    e, n, _ = origin
    h = HALF_EXTENT
    e19, e21, e24 = EPOCHS
    return {
        "id": SITE_ID,
        "crs": CRS,
        "origin": list(origin),
        "boundary": [[e - h, n - h], [e + h, n - h], [e + h, n + h], [e - h, n + h]],
        "licence": LICENCE,
        "attribution": ATTRIBUTION,
        "reference_epoch": e19,
        "name": {"de": "Gasometer Oberhausen (Demo)", "en": "Gasometer Oberhausen (demo)"},
        "description": {
            "de": "Synthetische Beispieldaten: ein Modell des Gasometers Oberhausen und seiner "
                  "Umgebung, dreimal erfasst (Airborne-LiDAR 2019, terrestrisches LiDAR 2021, "
                  "Photogrammetrie 2024), mit bekannten Veränderungen: ein neuer Pavillon, ein "
                  "gefällter Baum, ein abgerissenes Haus und ein Erdhügel.",
            "en": "Synthetic example data: a model of the Gasometer Oberhausen and its "
                  "surroundings, captured three times (airborne LiDAR 2019, terrestrial LiDAR "
                  "2021, photogrammetry 2024), with known changes: a new pavilion, a felled "
                  "tree, a demolished building and an earth mound."},
        "location": {"lat": LOCATION[0], "lon": LOCATION[1]},
        "epochs": [
            {"id": e19, "capture": "airborne-lidar",
             "sensor": f"simulated oscillating-mirror airborne scanner, "
                       f"{als.pulse_hz * als.density / 1000:.0f} kHz, "
                       f"±{als.half_angle_deg:.0f}°, {als.altitude:.0f} m above ground",
             "operator": ATTRIBUTION, "preset": "als",
             # off by default for airborne captures; on here: cars parked during one strip
             "privacy": {"enabled": True},
             "sources": sources[e19]},
            {"id": e21, "capture": "terrestrial-lidar",
             "sensor": f"simulated terrestrial scanner, "
                       f"{tls.step_deg / np.sqrt(tls.density):.3f}° step, "
                       f"{tls.max_range:.0f} m range, {len(tls.stations)} stations",
             "operator": ATTRIBUTION, "preset": "tls",
             # Poisson depth 9 (not 10): ~4x faster, ample for 0.85 M points; a wider normal
             # radius because the stations' spacing grows to ~30 cm at 50 m range.
             "overrides": {"poisson_depth": 9, "normal_radius": 0.3},
             "sources": sources[e21]},
            {"id": e24, "capture": "photogrammetry",
             "sensor": "simulated UAV photogrammetry (textured mesh)",
             "operator": ATTRIBUTION, "preset": "photogrammetry", "sources": sources[e24]},
        ],
        "annotations": _annotations(site),
    }


def _write_per_source(scan, n_sources: int, folder: Path, stem: str, origin, crs, epoch: str,
                      software: str) -> list[Path]:
    """One LAZ file per flight strip or station (point source id 1..n), as deliveries come."""
    paths = []
    for k in range(1, n_sources + 1):
        path = folder / f"{stem}_{k}.laz"
        lidar.write_laz(scan.take(scan.point_source_id == k), path, origin, crs,
                        dt.date.fromisoformat(epoch), software)
        paths.append(path)
    return paths


def build_demo_sources(out_dir: Path, seed: int = 7, *, density: float = 1.0,
                       texture_size: int = 2048) -> DemoSources:
    """Write the demo site's sources, manifest and truth under ``out_dir``.

    ``density`` scales the LiDAR point counts (1.0: ~1.5 M airborne and ~0.85 M terrestrial
    points); ``texture_size`` is the photogrammetry atlas' edge in texels.  Same arguments,
    same bytes.
    """
    if density <= 0:
        raise ValueError(f"density must be positive, got {density}")
    out_dir = Path(out_dir)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    clock = start

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    origin = site_origin()
    crs = pyproj.CRS(CRS)
    site = scene.build_site(seed)
    e19, e21, e24 = EPOCHS
    lap("scene")

    src_dir = {ep: out_dir / "sources" / ep for ep in EPOCHS}
    files: dict[str, list[Path]] = {}
    counts: dict[str, int] = {}

    passers_by = transients.transients(site)
    als_cfg = lidar.AlsConfig(density=density)
    als = lidar.simulate_als(site.scene(e19), als_cfg, np.random.default_rng([seed, 1]),
                             _capture_time(e19), transients.per_source(passers_by, e19))
    lap("als_simulate")
    files[e19] = _write_per_source(als, len(als_cfg.line_xs), src_dir[e19], "als_strip",
                                   origin, crs, e19, "stadtzeit simulated ALS")
    counts[e19] = len(als)
    lap("als_write")

    tls_cfg = lidar.TlsConfig(density=density)
    tls = lidar.simulate_tls(site, site.scene(e21), tls_cfg, np.random.default_rng([seed, 2]),
                             _capture_time(e21), transients.per_source(passers_by, e21))
    lap("tls_simulate")
    files[e21] = _write_per_source(tls, len(tls_cfg.stations), src_dir[e21], "tls_station",
                                   origin, crs, e21, "stadtzeit simulated TLS")
    counts[e21] = len(tls)
    lap("tls_write")

    mesh = photo.photogrammetry_mesh(site, e24, np.random.default_rng([seed, 3]),
                                     texture_size=texture_size)
    lap("photo_mesh")
    obj, mtl, jpg = photo.write_obj(mesh, src_dir[e24] / PHOTO_NAME, origin, CRS)
    files[e24] = [obj]
    lap("photo_write")

    truth_path = out_dir / "truth.json"
    doc = truth.truth_document(site, SITE_ID, CRS, origin)
    doc["transients"] = [t.to_dict() for t in passers_by]
    doc["poster"] = {"epoch": e24, "faces": 3, "plates": 1}
    truth.write_truth(doc, truth_path)
    # the LAZ files carry their CRS as WKT; the OBJ carries none, so the manifest names it;
    # terrestrial stations say where the scanner stood (the privacy step looks from there)
    stations = lidar.station_origins(site.terrain.z, tls_cfg) + np.asarray(origin)
    sources = {ep: [{"path": p.relative_to(out_dir).as_posix(), "sha256": _sha256(p)}
                    | ({"crs": CRS} if p.suffix == ".obj" else {})
                    | ({"station": [round(float(v), 3) for v in stations[k]]}
                       if ep == e21 else {})
                    for k, p in enumerate(paths)]
               for ep, paths in files.items()}
    doc = manifest_document(site, origin, sources, als_cfg, tls_cfg)
    manifest_path = out_dir / MANIFEST_NAME
    manifest_path.write_text(to_toml(doc, header=(
        "Site manifest of the stadtzeit demo: a synthetic Gasometer Oberhausen.\n"
        f"Written by processing.demo.build_demo_sources(seed={seed}, density={density}); "
        "do not edit,\nrebuild it.  Ground truth of the changes: truth.json next to this file.")),
        encoding="utf-8", newline="\n")
    lap("truth_manifest")
    timings["total"] = round(time.perf_counter() - start, 3)
    return DemoSources(
        out_dir=out_dir, manifest_path=manifest_path, truth_path=truth_path,
        sources={ep: tuple(p) for ep, p in files.items()},
        companions={e24: (mtl, jpg)}, point_counts=counts,
        face_counts={e24: int(len(mesh.faces))}, origin=origin, crs=CRS, timings=timings)
