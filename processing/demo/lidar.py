"""Simulated LiDAR of the demo scene: airborne strips and terrestrial stations by ray casting.

All rays of a scan go to Open3D's ``RaycastingScene`` at once (in chunks), so occlusion is what
the geometry gives.  Each point gets range noise along its ray, an intensity from the surface's
reflectance and incidence angle, an ASPRS class and an RGB colour from the surface label, a GPS
time from the pulse index, return numbers (airborne pulses through tree crowns also give a last
return from below), the scan angle and the strip/station id.  A small share of pulses become
noise: multipath echoes behind the surface (class 7, low noise) and echoes in mid-air that stay
unclassified (class 1) for the cleaning stage to find.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from pathlib import Path

import laspy
import numpy as np
import pyproj

from processing.demo.scene import Label, Site, TriMesh

# ASPRS classes per Label: ground, road surface, building, high vegetation, building, building,
# ground (fresh earth is bare ground); people and vehicles stay unclassified, as in deliveries
LABEL_CLASS = np.array([2, 11, 6, 5, 6, 6, 2, 1, 1], np.uint8)
# reflectance at 1064 nm, roughly: grass, asphalt, painted steel, foliage, plaster, glass, soil,
# clothing, car paint
LABEL_REFLECTANCE = np.array([0.45, 0.12, 0.30, 0.50, 0.40, 0.08, 0.25, 0.35, 0.30])
LABEL_RGB = np.array([[96, 128, 64], [72, 72, 76], [118, 126, 134], [58, 98, 44],
                      [196, 176, 150], [84, 112, 132], [132, 100, 68], [150, 110, 90],
                      [160, 30, 40]], np.float64)
NOISE_LABEL = 255                         # label of simulated noise and outliers
CLASS_LOW_NOISE = 7
CLASS_UNCLASSIFIED = 1
GPS_EPOCH = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)
GPS_LEAP_SECONDS = 18                     # GPS - UTC since 2017
CHUNK = 2_000_000                         # rays per cast (bounds memory)


def adjusted_gps_time(when: dt.datetime) -> float:
    """Adjusted standard GPS time (GPS seconds - 1e9), as LAS 1.4 stores it."""
    return (when - GPS_EPOCH).total_seconds() + GPS_LEAP_SECONDS - 1e9


@dataclass
class ScanPoints:
    """Simulated returns in the site frame, one row per point, LAS-shaped attributes."""

    xyz: np.ndarray                       # (N, 3) float64, site frame
    intensity: np.ndarray                 # uint16
    classification: np.ndarray            # uint8, ASPRS
    rgb: np.ndarray                       # (N, 3) uint16
    gps_time: np.ndarray                  # float64, adjusted standard GPS time
    return_number: np.ndarray             # uint8
    number_of_returns: np.ndarray         # uint8
    scan_angle_deg: np.ndarray            # float32
    point_source_id: np.ndarray           # uint16: strip or station number
    scan_direction: np.ndarray            # uint8
    edge_of_flight_line: np.ndarray       # uint8
    label: np.ndarray                     # uint8 Label of the surface hit, NOISE_LABEL for noise

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    def take(self, index: np.ndarray) -> ScanPoints:
        return ScanPoints(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[ScanPoints]) -> ScanPoints:
        return ScanPoints(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                             for f in fields(ScanPoints)})


class Raycaster:
    """First hits of many rays on a TriMesh (float32 inside Open3D; site coordinates are
    small, so float32 resolves them to well under a millimetre)."""

    def __init__(self, mesh: TriMesh, exclude: tuple[Label, ...] = ()):
        import open3d as o3d  # heavy import, only when scanning

        keep = ~np.isin(mesh.labels, np.array(exclude, np.uint8))
        self._faces = np.flatnonzero(keep)
        self.labels = mesh.labels
        self._o3d = o3d
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(
            o3d.core.Tensor(mesh.vertices.astype(np.float32)),
            o3d.core.Tensor(mesh.faces[keep].astype(np.uint32)))

    def cast(self, origins: np.ndarray, dirs: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance, face index into the full mesh or -1, unit normal) per ray."""
        n = len(origins)
        t = np.empty(n, np.float64)
        face = np.empty(n, np.int64)
        normal = np.empty((n, 3), np.float32)
        for s in range(0, n, CHUNK):
            rays = np.concatenate([origins[s:s + CHUNK], dirs[s:s + CHUNK]], axis=1)
            ans = self._scene.cast_rays(self._o3d.core.Tensor(rays.astype(np.float32)))
            t[s:s + CHUNK] = ans["t_hit"].numpy()
            prim = ans["primitive_ids"].numpy().astype(np.int64)
            hit = np.isfinite(t[s:s + CHUNK])
            face[s:s + CHUNK] = np.where(hit, self._faces[np.where(hit, prim, 0)], -1)
            normal[s:s + CHUNK] = ans["primitive_normals"].numpy()
        return t, face, normal


def _surface_points(rng: np.random.Generator, origins: np.ndarray, dirs: np.ndarray,
                    t: np.ndarray, label: np.ndarray, normal: np.ndarray, sigma: float,
                    range_ref: float, range_exponent: float) -> dict[str, np.ndarray]:
    """Noisy positions, intensity, class and colour for hits (all arrays already filtered)."""
    r = t + rng.normal(0.0, sigma, len(t))
    xyz = origins + r[:, None] * dirs
    cos_inc = np.abs(np.einsum("ij,ij->i", dirs, normal.astype(np.float64)))
    falloff = (range_ref / np.maximum(t, range_ref)) ** range_exponent
    refl = LABEL_REFLECTANCE[label] * (0.25 + 0.75 * cos_inc) * falloff
    refl *= 1.0 + rng.normal(0.0, 0.06, len(t))
    intensity = np.clip(refl * 60000.0, 1, 65535).astype(np.uint16)
    rgb = LABEL_RGB[label] + rng.normal(0.0, 9.0, (len(t), 3))
    rgb = (np.clip(rgb, 0, 255) * 257).astype(np.uint16)
    return {"xyz": xyz, "intensity": intensity, "classification": LABEL_CLASS[label],
            "rgb": rgb, "label": label.astype(np.uint8)}


def _add_noise(rng: np.random.Generator, pts: ScanPoints, origins: np.ndarray,
               dirs: np.ndarray, ranges: np.ndarray, low_fraction: float,
               outlier_fraction: float) -> None:
    """Turn some returns into multipath echoes behind the surface (class 7) and a few into
    mid-air echoes left unclassified (class 1).  ``origins``/``dirs``/``ranges`` per point."""
    n = len(pts)
    pick = rng.permutation(n)
    n_low = int(round(n * low_fraction))
    n_out = int(round(n * outlier_fraction))
    low, out = pick[:n_low], pick[n_low:n_low + n_out]
    pts.xyz[low] = origins[low] + (ranges[low] + rng.uniform(0.4, 4.0, n_low))[:, None] * dirs[low]
    # mid-air echoes (birds, dust) somewhere along the last part of the ray
    pts.xyz[out] = origins[out] + (ranges[out] * rng.uniform(0.6, 0.97, n_out))[:, None] * dirs[out]
    both = pick[:n_low + n_out]
    pts.classification[low] = CLASS_LOW_NOISE
    pts.classification[out] = CLASS_UNCLASSIFIED
    pts.label[both] = NOISE_LABEL
    pts.intensity[both] = rng.integers(200, 6000, len(both)).astype(np.uint16)
    grey = rng.integers(40, 200, len(both))
    pts.rgb[both] = (np.stack([grey, grey, grey], 1) * 257).astype(np.uint16)


# ---------------------------------------------------------------------------------------------
# airborne


@dataclass(frozen=True)
class AlsConfig:
    """An oscillating-mirror scanner (zig-zag pattern) on north-south flight lines.

    ``density`` scales the point density (1.0 ≈ 10 pts/m² on open ground with the overlap):
    the pulse rate by ``density`` and the mirror rate by its square root, so both the
    across- and along-track spacings shrink alike.
    """

    altitude: float = 300.0               # above the site origin, m
    speed: float = 60.0                   # m/s
    half_angle_deg: float = 20.0
    mirror_hz: float = 55.0               # full mirror periods (zig + zag) per second
    pulse_hz: float = 90_000.0
    line_xs: tuple[float, ...] = (-150.0, 0.0, 150.0)
    y_range: tuple[float, float] = (-205.0, 205.0)
    range_sigma: float = 0.025
    penetration: float = 0.6              # share of pulses through a crown with a last return
    low_noise_fraction: float = 0.01
    outlier_fraction: float = 0.0005
    line_gap_s: float = 240.0             # turn between lines
    density: float = 1.0


def simulate_als(site_mesh: TriMesh, cfg: AlsConfig, rng: np.random.Generator,
                 start: dt.datetime, extra: dict[int, TriMesh] | None = None) -> ScanPoints:
    """Returns of all flight lines, in GPS time order; ``point_source_id`` = line number.
    ``extra``: objects present during one line only (line number -> mesh)."""
    pulse_hz = cfg.pulse_hz * cfg.density
    mirror_hz = cfg.mirror_hz * np.sqrt(cfg.density)
    duration = (cfg.y_range[1] - cfg.y_range[0]) / cfg.speed
    n = int(duration * pulse_hz)
    tt = np.arange(n) / pulse_hz
    phase = (tt * mirror_hz) % 1.0
    tri = 1.0 - 4.0 * np.abs(phase - 0.5)               # -1 .. 1 .. -1 per mirror period
    angle = np.radians(cfg.half_angle_deg) * tri
    rising = (phase < 0.5).astype(np.uint8)
    edge = np.zeros(n, np.uint8)
    edge[:-1] = rising[:-1] != rising[1:]                # last pulse before the mirror turns
    edge[-1] = 1
    extra = extra or {}
    t0 = adjusted_gps_time(start)
    parts = []
    for i, x in enumerate(cfg.line_xs):
        line_mesh = TriMesh.concat([site_mesh, extra[i + 1]]) if i + 1 in extra else site_mesh
        if i == 0 or i + 1 in extra or i in extra:
            caster = Raycaster(line_mesh)
            below = Raycaster(line_mesh, exclude=(Label.TREE,))
        north = i % 2 == 0
        side = 1.0 if north else -1.0                    # the scanner's right, east or west
        y = cfg.y_range[0] + cfg.speed * tt if north else cfg.y_range[1] - cfg.speed * tt
        origins = np.column_stack([np.full(n, x), y, np.full(n, cfg.altitude)])
        dirs = np.column_stack([side * np.sin(angle), np.zeros(n), -np.cos(angle)])
        t, face, normal = caster.cast(origins, dirs)
        hit = np.flatnonzero(face >= 0)
        label = line_mesh.labels[face[hit]]
        first = _surface_points(rng, origins[hit], dirs[hit], t[hit], label, normal[hit],
                                cfg.range_sigma, cfg.altitude, 2.0)
        nret = np.ones(len(hit), np.uint8)
        # pulses through a crown: a last return from what lies below the trees
        cand = np.flatnonzero((label == Label.TREE) & (rng.random(len(hit)) < cfg.penetration))
        o2 = origins[hit[cand]]
        d2 = dirs[hit[cand]]
        t2, face2, normal2 = below.cast(o2, d2)
        ok = face2 >= 0
        cand, t2, face2, normal2 = cand[ok], t2[ok], face2[ok], normal2[ok]
        nret[cand] = 2
        second = _surface_points(rng, o2[ok], d2[ok], t2, line_mesh.labels[face2], normal2,
                                 cfg.range_sigma, cfg.altitude, 2.0)
        idx = np.concatenate([hit, hit[cand]])
        ret = np.concatenate([np.ones(len(hit), np.uint8), np.full(len(cand), 2, np.uint8)])
        pts = ScanPoints(
            xyz=np.concatenate([first["xyz"], second["xyz"]]),
            intensity=np.concatenate([first["intensity"], second["intensity"]]),
            classification=np.concatenate([first["classification"], second["classification"]]),
            rgb=np.concatenate([first["rgb"], second["rgb"]]),
            gps_time=t0 + i * (duration + cfg.line_gap_s) + tt[idx],
            return_number=ret,
            number_of_returns=np.concatenate([nret, nret[cand]]),
            scan_angle_deg=np.degrees(angle[idx]).astype(np.float32),
            point_source_id=np.full(len(idx), i + 1, np.uint16),
            scan_direction=rising[idx], edge_of_flight_line=edge[idx],
            label=np.concatenate([first["label"], second["label"]]))
        ranges = np.concatenate([t[hit], t2])
        _add_noise(rng, pts, origins[idx], dirs[idx], ranges, cfg.low_noise_fraction,
                   cfg.outlier_fraction)
        parts.append(pts.take(np.lexsort((pts.return_number, pts.gps_time))))
    return ScanPoints.concat(parts)


# ---------------------------------------------------------------------------------------------
# terrestrial


@dataclass(frozen=True)
class TlsConfig:
    """Tripod stations: the head turns in azimuth, the mirror sweeps elevation per column.

    ``density`` scales the number of points (both angular steps by 1/sqrt(density)).
    """

    stations: tuple[tuple[float, float], ...] = (
        (-60.0, -88.0), (55.0, -78.0), (125.0, 15.0), (-118.0, 5.0), (0.0, 80.0))
    height: float = 1.7                   # instrument above ground
    step_deg: float = 0.36
    elevation_deg: tuple[float, float] = (-55.0, 90.0)
    max_range: float = 150.0
    min_range: float = 0.6
    pulse_hz: float = 500_000.0
    range_sigma: float = 0.005
    low_noise_fraction: float = 0.01
    outlier_fraction: float = 0.0005
    station_gap_s: float = 900.0
    density: float = 1.0


def station_origins(site_terrain_z, cfg: TlsConfig) -> np.ndarray:
    xy = np.array(cfg.stations, np.float64)
    return np.column_stack([xy, site_terrain_z(xy[:, 0], xy[:, 1]) + cfg.height])


def simulate_tls(site: Site, site_mesh: TriMesh, cfg: TlsConfig, rng: np.random.Generator,
                 start: dt.datetime, extra: dict[int, TriMesh] | None = None) -> ScanPoints:
    """Returns of all stations; ``point_source_id`` = station number (1-based).
    ``extra``: objects present during one station only (station number -> mesh)."""
    step = np.radians(cfg.step_deg) / np.sqrt(cfg.density)
    az = np.arange(0.0, 2 * np.pi, step)
    el = np.arange(np.radians(cfg.elevation_deg[0]), np.radians(cfg.elevation_deg[1]), step)
    aa, ee = np.meshgrid(az, el, indexing="ij")          # column by column, as the head turns
    aa, ee = aa.ravel(), ee.ravel()
    dirs_all = np.column_stack([np.cos(ee) * np.cos(aa), np.cos(ee) * np.sin(aa), np.sin(ee)])
    pulse_t = np.arange(len(aa)) / cfg.pulse_hz
    extra = extra or {}
    caster = Raycaster(site_mesh)
    t0 = adjusted_gps_time(start)
    parts = []
    for i, origin in enumerate(station_origins(site.terrain.z, cfg)):
        mesh = TriMesh.concat([site_mesh, extra[i + 1]]) if i + 1 in extra else site_mesh
        origins = np.broadcast_to(origin, dirs_all.shape)
        cast = Raycaster(mesh).cast if i + 1 in extra else caster.cast
        t, face, normal = cast(np.ascontiguousarray(origins), dirs_all)
        hit = np.flatnonzero((face >= 0) & (t <= cfg.max_range) & (t >= cfg.min_range))
        label = mesh.labels[face[hit]]
        surf = _surface_points(rng, origins[hit], dirs_all[hit], t[hit], label, normal[hit],
                               cfg.range_sigma, 10.0, 0.5)
        m = len(hit)
        pts = ScanPoints(
            xyz=surf["xyz"], intensity=surf["intensity"], classification=surf["classification"],
            rgb=surf["rgb"], gps_time=t0 + i * cfg.station_gap_s + pulse_t[hit],
            return_number=np.ones(m, np.uint8), number_of_returns=np.ones(m, np.uint8),
            scan_angle_deg=np.zeros(m, np.float32),
            point_source_id=np.full(m, i + 1, np.uint16),
            scan_direction=np.zeros(m, np.uint8), edge_of_flight_line=np.zeros(m, np.uint8),
            label=surf["label"])
        _add_noise(rng, pts, origins[hit], dirs_all[hit], t[hit], cfg.low_noise_fraction,
                   cfg.outlier_fraction)
        parts.append(pts)
    return ScanPoints.concat(parts)


# ---------------------------------------------------------------------------------------------
# LAZ output


def write_laz(points: ScanPoints, path: Path, origin: tuple[float, float, float],
              crs: pyproj.CRS, created: dt.date, system: str) -> None:
    """LAS 1.4, point format 7 (RGB), 1 mm scale, offset at the site origin, CRS as WKT.

    Byte-identical for identical input: the creation date comes from the capture date (laspy
    would use today), the GUID stays zero and GPS times are derived from the pulse index.
    """
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.round(np.asarray(origin, np.float64))
    header.add_crs(crs)
    header.global_encoding.gps_time_type = laspy.header.GpsTimeType.STANDARD
    header.creation_date = created
    header.generating_software = "stadtzeit demo"
    header.system_identifier = system[:32]
    las = laspy.LasData(header)
    las.x = points.xyz[:, 0] + origin[0]                 # float64 all the way
    las.y = points.xyz[:, 1] + origin[1]
    las.z = points.xyz[:, 2] + origin[2]
    las.intensity = points.intensity
    las.return_number = points.return_number
    las.number_of_returns = points.number_of_returns
    las.scan_direction_flag = points.scan_direction
    las.edge_of_flight_line = points.edge_of_flight_line
    las.classification = points.classification
    las.scan_angle = np.round(points.scan_angle_deg / 0.006).astype(np.int16)  # 0.006° units
    las.point_source_id = points.point_source_id
    las.gps_time = points.gps_time
    las.red, las.green, las.blue = points.rgb[:, 0], points.rgb[:, 1], points.rgb[:, 2]
    path.parent.mkdir(parents=True, exist_ok=True)
    las.write(path, do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
