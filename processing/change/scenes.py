"""Airborne two-epoch scenes with a known answer, for tests and benchmarks of change detection.

A scene is flat ground (z = 0) with objects on it — box buildings with rotated footprints,
cylinders (tanks) and a mound (a paraboloid cap) — placed at random, off the grid, several
metres apart.  Between the epochs some objects are added, removed or raised and the rest stay
as they were.  Points are sampled as airborne LiDAR sees a surface: uniformly in plan with
``density`` points per m² on the top surface (the highest object at each x, y, else the
ground), plus points on the vertical walls at ``wall_density`` times that density per m² of
wall (oblique views), plus Gaussian noise.  Every change's volume is analytic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Shape:
    """One object standing on the ground.

    kind: 'box' (``size`` = width along the rotated x, depth along the rotated y),
        'cylinder' (``size[0]`` = radius) or 'mound' (``size[0]`` = radius; height
        h * (1 - r²/R²), a paraboloid cap).
    centre: x, y of the footprint's centre (m); angle: rotation of a box (degrees).
    """

    kind: str
    centre: tuple[float, float]
    size: tuple[float, float]
    height: float
    angle: float = 0.0

    @property
    def reach(self) -> float:
        """Radius of a circle around ``centre`` that holds the footprint."""
        return math.hypot(*self.size) / 2.0 if self.kind == "box" else self.size[0]

    @property
    def area(self) -> float:
        if self.kind == "box":
            return self.size[0] * self.size[1]
        return math.pi * self.size[0] ** 2

    @property
    def volume(self) -> float:
        """Volume above the ground (m³), analytic."""
        if self.kind == "mound":
            return self.area * self.height / 2.0
        return self.area * self.height

    def local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates relative to the centre, in the box's rotated axes."""
        dx, dy = x - self.centre[0], y - self.centre[1]
        a = math.radians(self.angle)
        return dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a)

    def contains(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Whether (x, y) lies in the footprint grown by ``margin`` metres."""
        u, v = self.local(np.asarray(x, np.float64), np.asarray(y, np.float64))
        if self.kind == "box":
            return ((np.abs(u) <= self.size[0] / 2 + margin)
                    & (np.abs(v) <= self.size[1] / 2 + margin))
        return np.hypot(u, v) <= self.size[0] + margin

    def top(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Height of the top surface above the ground (0 outside the footprint)."""
        inside = self.contains(x, y)
        if self.kind == "mound":
            u, v = self.local(x, y)
            r2 = (u * u + v * v) / self.size[0] ** 2
            return np.where(inside, self.height * (1.0 - r2), 0.0)
        return np.where(inside, self.height, 0.0)

    def wall_points(self, rng: np.random.Generator, per_m2: float) -> np.ndarray:
        """Points on the vertical walls (none for a mound), ``per_m2`` per m² of wall."""
        if self.kind == "mound" or per_m2 <= 0:
            return np.zeros((0, 3))
        if self.kind == "box":
            w, d = self.size
            perimeter = 2.0 * (w + d)
            n = rng.poisson(perimeter * self.height * per_m2)
            s = rng.random(n) * perimeter
            u = np.select([s < w, s < w + d, s < 2 * w + d],
                          [s - w / 2, np.full(n, w / 2), w / 2 - (s - w - d)],
                          np.full(n, -w / 2))
            v = np.select([s < w, s < w + d, s < 2 * w + d],
                          [np.full(n, -d / 2), s - w - d / 2, np.full(n, d / 2)],
                          d / 2 - (s - 2 * w - d))
        else:
            r = self.size[0]
            n = rng.poisson(2.0 * math.pi * r * self.height * per_m2)
            phi = rng.random(n) * 2.0 * math.pi
            u, v = r * np.cos(phi), r * np.sin(phi)
        a = math.radians(self.angle)
        x = self.centre[0] + u * math.cos(a) - v * math.sin(a)
        y = self.centre[1] + u * math.sin(a) + v * math.cos(a)
        return np.column_stack([x, y, rng.random(n) * self.height])


@dataclass(frozen=True)
class Change:
    """A true change: ``sign`` 'added' or 'removed', its analytic ``volume`` (m³, > 0) and the
    footprint it happens on (``shape``)."""

    name: str
    sign: str
    volume: float
    shape: Shape


@dataclass
class ScenePair:
    """Two epochs of one scene and the truth: what changed and what stayed."""

    epoch1: np.ndarray
    epoch2: np.ndarray
    shapes1: list[Shape]
    shapes2: list[Shape]
    changes: list[Change]
    unchanged: list[Shape]
    size: float
    seed: int
    params: dict = field(default_factory=dict)

    def write_las(self, folder: str | Path, *, crs: str = "EPSG:25832",
                  origin: tuple[float, float, float] = (350_000.0, 5_708_000.0, 30.0)
                  ) -> tuple[Path, Path]:
        """Both epochs as LAZ files in real coordinates (``origin`` added) in ``crs``."""
        from processing.lazio import write_laz
        from processing.types import PointCloud

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for k, pts in ((1, self.epoch1), (2, self.epoch2)):
            cloud = PointCloud(xyz=pts, crs=crs, frame="site")
            paths.append(write_laz(cloud, folder / f"epoch{k}.laz", origin, crs))
        return paths[0], paths[1]


def sample_epoch(shapes: list[Shape], size: float, density: float, rng: np.random.Generator,
                 *, wall_density: float = 0.3, noise: float = 0.02) -> np.ndarray:
    """Airborne-style samples of the ground square [0, size]² with ``shapes`` on it."""
    n = rng.poisson(size * size * density)
    xy = rng.random((n, 2)) * size
    z = np.zeros(n)
    for s in shapes:
        near = np.hypot(xy[:, 0] - s.centre[0], xy[:, 1] - s.centre[1]) <= s.reach
        z[near] = np.maximum(z[near], s.top(xy[near, 0], xy[near, 1]))
    parts = [np.column_stack([xy, z])]
    parts += [s.wall_points(rng, density * wall_density) for s in shapes]
    pts = np.concatenate(parts)
    if noise > 0:
        pts += rng.normal(0.0, noise, pts.shape)
    return pts


def sample_ground_epoch(shapes: list[Shape], size: float, density: float,
                        rng: np.random.Generator, *, reach: float | None = None,
                        noise: float = 0.01) -> np.ndarray:
    """Samples as a scanner on the ground sees the scene (terrestrial, mobile): the ground and
    low surfaces a person can look onto (mounds), the walls densely, and no roof.  With
    ``reach`` only the disc of that radius around the scene's centre is scanned."""
    n = rng.poisson(size * size * density)
    xy = rng.random((n, 2)) * size
    z = np.zeros(n)
    roof = np.zeros(n, bool)
    for s in shapes:
        near = np.hypot(xy[:, 0] - s.centre[0], xy[:, 1] - s.centre[1]) <= s.reach
        top = s.top(xy[near, 0], xy[near, 1])
        z[near] = np.maximum(z[near], top)
        if s.kind != "mound":
            roof[np.flatnonzero(near)[top > 0]] = True
    parts = [np.column_stack([xy, z])[~roof]]
    for s in shapes:
        # seen from below at ever flatter angles: a wall's points thin out towards its top
        wall = s.wall_points(rng, density)
        wall[:, 2] = s.height * rng.random(len(wall)) ** 2
        parts.append(wall)
    pts = np.concatenate(parts)
    if reach is not None:
        pts = pts[np.hypot(pts[:, 0] - size / 2, pts[:, 1] - size / 2) <= reach]
    if noise > 0:
        pts += rng.normal(0.0, noise, pts.shape)
    return pts


def _place(rng: np.random.Generator, reaches: list[float], size: float, gap: float
           ) -> list[tuple[float, float]]:
    """Random centres (off any grid) whose footprint circles keep ``gap`` metres apart and
    from the scene's border."""
    placed: list[tuple[float, float, float]] = []
    for r in reaches:
        for _ in range(10_000):
            c = rng.uniform(r + gap, size - r - gap, 2)
            if all(math.hypot(c[0] - x, c[1] - y) >= r + q + gap for x, y, q in placed):
                placed.append((float(c[0]), float(c[1]), r))
                break
        else:
            raise ValueError(f"cannot place {len(reaches)} objects on a {size:g} m scene: "
                             "make it larger")
    return [(x, y) for x, y, _ in placed]


def random_scene(seed: int, *, size: float = 140.0, density: float = 8.0,
                 wall_density: float = 0.3, noise: float = 0.02,
                 shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 rotation_deg: float = 0.0, gap: float = 8.0) -> ScenePair:
    """A scene with an added box building, a removed tank, a raised box, an added mound and
    unchanged buildings (two rotated boxes and a tank) beside them; sizes, heights, angles and
    positions drawn from ``seed``.  ``shift`` (m) and ``rotation_deg`` (about the vertical
    through the scene centre) move the second epoch as a registration error would."""
    rng = np.random.default_rng(seed)

    def box(w: tuple[float, float], d: tuple[float, float], h: tuple[float, float]) -> Shape:
        return Shape("box", (0.0, 0.0), (rng.uniform(*w), rng.uniform(*d)), rng.uniform(*h),
                     angle=rng.uniform(0.0, 90.0))

    added = box((12, 24), (8, 16), (6, 12))
    removed = Shape("cylinder", (0.0, 0.0), (rng.uniform(4.0, 8.0), 0.0), rng.uniform(6, 12))
    raised = box((14, 22), (10, 16), (4, 8))
    mound = Shape("mound", (0.0, 0.0), (rng.uniform(6.0, 10.0), 0.0), rng.uniform(2.0, 4.0))
    still = [box((10, 22), (8, 16), (6, 14)), box((8, 16), (8, 12), (8, 16)),
             Shape("cylinder", (0.0, 0.0), (rng.uniform(4.0, 7.0), 0.0), rng.uniform(8, 14))]
    objects = [added, removed, raised, mound, *still]
    centres = _place(rng, [s.reach for s in objects], size, gap)
    added, removed, raised, mound, *still = [replace(s, centre=c)
                                             for s, c in zip(objects, centres, strict=True)]
    rise = float(rng.uniform(3.0, 6.0))
    raised2 = replace(raised, height=raised.height + rise)
    shapes1 = [removed, raised, *still]
    shapes2 = [added, raised2, mound, *still]
    changes = [Change("added building", "added", added.volume, added),
               Change("removed tank", "removed", removed.volume, removed),
               Change("raised building", "added", raised.area * rise, raised),
               Change("added mound", "added", mound.volume, mound)]
    e1 = sample_epoch(shapes1, size, density, rng, wall_density=wall_density, noise=noise)
    e2 = sample_epoch(shapes2, size, density, rng, wall_density=wall_density, noise=noise)
    e2 = move(e2, shift, rotation_deg, centre=(size / 2, size / 2))
    return ScenePair(epoch1=e1, epoch2=e2, shapes1=shapes1, shapes2=shapes2, changes=changes,
                     unchanged=still, size=size, seed=seed,
                     params={"density": density, "wall_density": wall_density,
                             "noise": noise, "shift": list(shift),
                             "rotation_deg": rotation_deg})


def issue_scene(seed: int = 7, *, density: float = 8.0, wall_density: float = 0.3,
                noise: float = 0.02) -> ScenePair:
    """The scene of issue 16: a new 20 x 10 x 8 m building (+1600 m³), a removed tank of
    radius 6 m and height 10 m (-1131 m³) and an unchanged 16 x 12 x 12 m building between
    them, at fixed places (edges off the grid by a fraction of a metre)."""
    rng = np.random.default_rng(seed)
    new = Shape("box", (30.3, 40.7), (20.0, 10.0), 8.0)
    tank = Shape("cylinder", (80.45, 40.15), (6.0, 0.0), 10.0)
    same = Shape("box", (55.2, 70.6), (16.0, 12.0), 12.0, angle=0.0)
    size = 110.0
    e1 = sample_epoch([tank, same], size, density, rng, wall_density=wall_density, noise=noise)
    e2 = sample_epoch([new, same], size, density, rng, wall_density=wall_density, noise=noise)
    return ScenePair(epoch1=e1, epoch2=e2, shapes1=[tank, same], shapes2=[new, same],
                     changes=[Change("new building", "added", new.volume, new),
                              Change("removed tank", "removed", tank.volume, tank)],
                     unchanged=[same], size=size, seed=seed,
                     params={"density": density, "wall_density": wall_density,
                             "noise": noise})


def move(points: np.ndarray, shift: tuple[float, float, float], rotation_deg: float,
         centre: tuple[float, float]) -> np.ndarray:
    """``points`` rotated by ``rotation_deg`` about the vertical through ``centre``, then
    shifted by ``shift``."""
    if rotation_deg == 0.0 and not any(shift):
        return points
    a = math.radians(rotation_deg)
    x, y = points[:, 0] - centre[0], points[:, 1] - centre[1]
    out = points.copy()
    out[:, 0] = centre[0] + x * math.cos(a) - y * math.sin(a) + shift[0]
    out[:, 1] = centre[1] + x * math.sin(a) + y * math.cos(a) + shift[1]
    out[:, 2] += shift[2]
    return out


def surface_mesh(shapes: list[Shape], size: float, step: float = 0.25
                 ) -> tuple[np.ndarray, np.ndarray]:
    """An upward-facing height-field mesh of the top surface (a DSM), ``step`` m apart."""
    from processing.change.synthetic import height_field_mesh

    xs = np.arange(0.0, size + step / 2, step)
    X, Y = np.meshgrid(xs, xs)
    Z = np.zeros_like(X)
    for s in shapes:
        Z = np.maximum(Z, s.top(X, Y))
    return height_field_mesh(xs, xs, Z)
