"""Passers-by and parked cars in the demo's scans: there in one station or strip, gone in the
next, as people and traffic are.

Each ``Transient`` is a box-shaped person (0.5 × 0.35 × 1.75 m) or car (4.4 × 1.8 × 1.45 m)
standing on the terrain, present in exactly one scan of an epoch (``source``: the strip or
station number, 1-based).  They stand where another scan of the epoch looks (in the overlap of
neighbouring flight strips, on the open ground between stations), away from every feature, so
the change truth is untouched and the privacy step can see through them.  The list of them goes
into ``truth.json`` ("transients") so tests can count what is left of them in the products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.demo.scene import EPOCHS, Label, Site, TriMesh

PERSON_SIZE = (0.5, 0.35, 1.75)
CAR_SIZE = (4.4, 1.8, 1.45)
E19, E21 = EPOCHS[0], EPOCHS[1]

#: (epoch, source, kind, x, y, yaw°): airborne strips 1-3 at x = -150, 0, 150 (overlaps at
#: |x| in 41..109), terrestrial stations 1-5 (see lidar.TlsConfig.stations); the terrestrial
#: ones stand where a second station has a free view within 65 m.
PLACES: tuple[tuple[str, int, str, float, float, float], ...] = (
    (E19, 1, "car", -70.0, -60.0, 0.0),
    (E19, 2, "car", -95.0, -62.0, 3.0),
    (E19, 3, "car", 70.0, -60.0, 180.0),
    (E19, 2, "car", 60.0, 20.0, 90.0),
    (E19, 1, "person", -80.0, -30.0, 30.0),
    (E19, 2, "person", -50.0, -25.0, 0.0),
    (E19, 3, "person", 90.0, -30.0, 60.0),
    (E21, 1, "car", -5.0, -84.0, 0.0),
    (E21, 2, "person", -10.0, -75.0, 20.0),
    (E21, 1, "person", 0.0, -70.0, 100.0),
    (E21, 3, "person", 90.0, -40.0, 45.0),
    (E21, 4, "person", -100.0, -40.0, 10.0),
    (E21, 2, "person", 75.0, -20.0, 0.0),
)


@dataclass(frozen=True)
class Transient:
    epoch: str
    source: int
    kind: str
    centre: tuple[float, float, float]      # footprint centre on the ground, site frame
    size: tuple[float, float, float]        # length, width, height
    yaw_deg: float

    def mesh(self) -> TriMesh:
        """A closed box, faces outward, labelled PERSON or VEHICLE."""
        length, width, height = self.size
        c, s = np.cos(np.radians(self.yaw_deg)), np.sin(np.radians(self.yaw_deg))
        local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [length / 2, width / 2]
        xy = local @ np.array([[c, s], [-s, c]]) + self.centre[:2]
        z0 = self.centre[2] - 0.05               # sunk a little: no gap above the ground
        v = np.vstack([np.column_stack([xy, np.full(4, z0)]),
                       np.column_stack([xy, np.full(4, self.centre[2] + height)])])
        f = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7],
                      [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5],
                      [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]])
        label = Label.PERSON if self.kind == "person" else Label.VEHICLE
        return TriMesh(v, f, np.full(len(f), label, np.uint8), np.full(len(f), -1, np.int32))

    def contains(self, xyz: np.ndarray, above: float = 0.15) -> np.ndarray:
        """Points inside the box and more than ``above`` metres over its ground."""
        length, width, height = self.size
        d = xyz[:, :2] - np.asarray(self.centre[:2])
        c, s = np.cos(np.radians(self.yaw_deg)), np.sin(np.radians(self.yaw_deg))
        u = d[:, 0] * c + d[:, 1] * s
        w = -d[:, 0] * s + d[:, 1] * c
        dz = xyz[:, 2] - self.centre[2]
        return ((np.abs(u) <= length / 2 + 0.1) & (np.abs(w) <= width / 2 + 0.1)
                & (dz > above) & (dz <= height + 0.1))

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "source": self.source, "kind": self.kind,
                "centre": [round(v, 3) for v in self.centre],
                "size": list(self.size), "yaw_deg": self.yaw_deg}

    @staticmethod
    def from_dict(d: dict) -> Transient:
        return Transient(d["epoch"], int(d["source"]), d["kind"], tuple(d["centre"]),
                         tuple(d["size"]), float(d["yaw_deg"]))


def transients(site: Site, places=PLACES) -> list[Transient]:
    out = []
    for epoch, source, kind, x, y, yaw in places:
        z = float(site.terrain.z(np.array([x]), np.array([y]))[0])
        out.append(Transient(epoch, source, kind, (x, y, z),
                             PERSON_SIZE if kind == "person" else CAR_SIZE, yaw))
    return out


def per_source(items: list[Transient], epoch: str) -> dict[int, TriMesh]:
    """The transient objects of ``epoch`` as one mesh per strip or station."""
    by: dict[int, list[TriMesh]] = {}
    for t in items:
        if t.epoch == epoch:
            by.setdefault(t.source, []).append(t.mesh())
    return {k: TriMesh.concat(v) for k, v in by.items()}


__all__ = ["PLACES", "Transient", "per_source", "transients"]
