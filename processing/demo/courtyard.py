"""Small simulated scenes with known passers-by, for testing and measuring the ghost check.

``courtyard(seed, kind)`` builds a flat square with static blocks (buildings, kiosks, a wall)
and transient people and cars, each present in exactly one scan, then scans it: ``"tls"``
from three or four tripod stations, ``"als"`` from three overlapping flight strips.  Every
point knows whether it hit a transient (``transient``), so the share of transient points the
privacy step removes, and of static points it wrongly removes, can be counted exactly.  Seeds
vary the layout: the blocks' number, sizes and places, and where the transients stand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.demo.lidar import Raycaster
from processing.demo.scene import Label, TriMesh
from processing.demo.transients import CAR_SIZE, PERSON_SIZE, Transient


@dataclass
class CourtyardScan:
    xyz: np.ndarray              # (N, 3) site frame
    transient: np.ndarray        # (N,) bool: the point lies on a transient object
    sensor: np.ndarray | None    # station position (tls) or None (als)
    first: np.ndarray | None     # first-return mask (als)


@dataclass
class Courtyard:
    scans: list[CourtyardScan]
    transients: list[Transient]
    kind: str


def _box(x: float, y: float, length: float, width: float, height: float, yaw: float,
         label: Label) -> TriMesh:
    t = Transient("", 0, "block", (x, y, 0.0), (length, width, height), yaw)
    m = t.mesh()
    return TriMesh(m.vertices, m.faces, np.full(len(m.faces), label, np.uint8), m.parts)


def _ground(half: float, step: float = 5.0) -> TriMesh:
    g = np.arange(-half, half + step / 2, step)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    v = np.column_stack([xx.ravel(), yy.ravel(), np.zeros(xx.size)])
    n = len(g)
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (i * n + j).ravel()
    f = np.concatenate([np.column_stack([a, a + n, a + n + 1]),
                        np.column_stack([a, a + n + 1, a + 1])])
    return TriMesh(v, f, np.zeros(len(f), np.uint8), np.zeros(len(f), np.int32))


def _free(rng, half: float, taken: list[tuple[float, float, float]], r: float
          ) -> tuple[float, float]:
    for _ in range(200):
        x, y = rng.uniform(-half, half, 2)
        if all(np.hypot(x - a, y - b) > r + c for a, b, c in taken):
            return float(x), float(y)
    raise RuntimeError("no free place left in the courtyard")


def _seen_by_another(caster: Raycaster, stations, source: int, target) -> bool:
    """Whether a station other than ``source`` has a free line of sight to ``target`` (within
    60 m)."""
    for s, (x, y) in enumerate(stations, start=1):
        if s == source:
            continue
        o = np.array([[x, y, 1.7]])
        d = np.asarray(target, np.float64)[None] - o
        dist = float(np.linalg.norm(d))
        if dist > 60.0:
            continue
        t, _, _ = caster.cast(o, d / dist)
        if not np.isfinite(t[0]) or t[0] > dist - 0.5:
            return True
    return False


def courtyard(seed: int, kind: str = "tls", *, half: float = 40.0, step_deg: float = 0.4,
              als_density: float = 12.0) -> Courtyard:
    rng = np.random.default_rng(seed)
    static = [_ground(half + 30.0)]
    taken: list[tuple[float, float, float]] = []
    stations = ([(-25.0, -25.0), (25.0, -20.0), (0.0, 28.0)] if kind == "tls"
                else [])
    taken += [(x, y, 3.0) for x, y in stations]
    for _ in range(int(rng.integers(3, 7))):           # buildings and kiosks
        length, width = rng.uniform(3, 12), rng.uniform(3, 8)
        x, y = _free(rng, half - 8, taken, max(length, width) / 2 + 2)
        taken.append((x, y, max(length, width) / 2 + 1))
        static.append(_box(x, y, length, width, rng.uniform(2.5, 9), rng.uniform(0, 180),
                           Label.BUILDING))
    n_scans = len(stations) if kind == "tls" else 3
    scene = TriMesh.concat(static)
    seen = Raycaster(scene)
    items: list[Transient] = []
    tries = 0
    while len(items) < 4 + seed % 5:                    # people and cars, one scan each
        tries += 1
        if tries > 400:
            raise RuntimeError("no place seen by two stations left in the courtyard")
        car = rng.random() < 0.35
        size = CAR_SIZE if car else PERSON_SIZE
        x, y = _free(rng, half - 10, taken, max(size[:2]) / 2 + 1.5)
        source = len(items) % n_scans + 1
        # where no other station looks, no method can tell: place it elsewhere
        if kind == "tls" and not _seen_by_another(seen, stations, source, (x, y, size[2] / 2)):
            continue
        taken.append((x, y, max(size[:2]) / 2 + 0.5))
        items.append(Transient("", source, "car" if car else "person", (x, y, 0.0),
                               size, float(rng.uniform(0, 180))))
    scans = []
    for s in range(1, n_scans + 1):
        mine = [t.mesh() for t in items if t.source == s]
        mesh = TriMesh.concat([scene, *mine])
        caster = Raycaster(mesh)
        if kind == "tls":
            origin = np.array([*stations[s - 1], 1.7])
            step = np.radians(step_deg)
            az, el = np.meshgrid(np.arange(0, 2 * np.pi, step),
                                 np.arange(np.radians(-60), np.radians(60), step), indexing="ij")
            az, el = az.ravel(), el.ravel()
            d = np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            o = np.broadcast_to(origin, d.shape).copy()
            t, face, _ = caster.cast(o, d)
            ok = (face >= 0) & (t < 80.0) & (t > 0.6)
            r = t[ok] + rng.normal(0, 0.005, ok.sum())
            xyz = o[ok] + r[:, None] * d[ok]
            label = mesh.labels[face[ok]]
            scans.append(CourtyardScan(xyz, np.isin(label, [Label.PERSON, Label.VEHICLE]),
                                       origin, None))
        else:
            x0 = (s - 2) * 40.0                          # strips at x = -40, 0, 40
            n = int((2 * half + 40) ** 2 * als_density / 3)
            y = rng.uniform(-half - 20, half + 20, n)
            ang = rng.uniform(-np.radians(25), np.radians(25), n)
            o = np.column_stack([np.full(n, x0), y, np.full(n, 150.0)])
            d = np.column_stack([np.sin(ang), np.zeros(n), -np.cos(ang)])
            t, face, _ = caster.cast(o, d)
            ok = face >= 0
            r = t[ok] + rng.normal(0, 0.02, ok.sum())
            xyz = o[ok] + r[:, None] * d[ok]
            label = mesh.labels[face[ok]]
            scans.append(CourtyardScan(xyz, np.isin(label, [Label.PERSON, Label.VEHICLE]),
                                       None, np.ones(ok.sum(), bool)))
    return Courtyard(scans, items, kind)


__all__ = ["Courtyard", "CourtyardScan", "courtyard"]
