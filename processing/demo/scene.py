"""The synthetic Gasometer Oberhausen site: triangle meshes per epoch in the site frame.

Site frame: metres, origin at the site origin (the Gasometer's axis at ground level), +x east,
+y north, +z up.  Every face carries a label (what it is: ground, road, gasometer, ...) and a
part index (which object it belongs to: 0 is the terrain, k the k-th feature).

The Gasometer is the real one's size: a 24-sided prism of 67.6 m diameter whose corners carry
vertical ribs, a shallow domed roof reaching 117.5 m, and the external stair tower.  Around it:
gently undulating terrain (flat, gently tilted plane near the Gasometer so that buildings stand
on a linear surface and their change volumes are exact), an east-west road, a row of trees and a
smaller gabled building.  The three epochs differ by known changes (see ``EPOCHS`` and
``build_site``): 2021 a pavilion is built and a tree is felled, 2024 the gabled building is gone
and an earth mound (a spherical cap) is heaped up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

EPOCHS: tuple[str, ...] = ("2019-06-15", "2021-09-01", "2024-05-20")

HALF_EXTENT = 200.0          # the terrain covers [-200, 200]² m
GRID_STEP = 2.0              # terrain mesh spacing, m
GASOMETER_RADIUS = 33.8      # circumradius of the 24-gon: 67.6 m diameter
GASOMETER_EAVE = 113.0       # top of the wall
GASOMETER_HEIGHT = 117.5     # top of the roof
GASOMETER_SIDES = 24
RIB_HALF_WIDTH = 0.6
RIB_DEPTH = 0.35
ROAD_Y = (-64.0, -56.0)      # on grid lines, so the road edge is straight in the mesh
FLAT_RADIUS = 120.0          # terrain is a plane inside this radius, undulates outside
TERRAIN_SLOPE = (0.002, -0.0015)


class Label(IntEnum):
    """What a face is; drives classification, intensity and colour."""

    GROUND = 0
    ROAD = 1
    GASOMETER = 2
    TREE = 3
    BUILDING = 4
    PAVILION = 5
    EARTHWORK = 6
    PERSON = 7               # transient: in one scan only (demo/transients.py)
    VEHICLE = 8


LABEL_NAMES: tuple[str, ...] = tuple(label.name.lower() for label in Label)


@dataclass(frozen=True)
class TriMesh:
    """Triangles with a label and a part index per face (float64 site coordinates)."""

    vertices: np.ndarray                 # (N, 3) float64
    faces: np.ndarray                    # (M, 3) int64
    labels: np.ndarray                   # (M,) uint8, Label values
    parts: np.ndarray                    # (M,) int32, 0 = terrain, k = feature k

    @staticmethod
    def concat(meshes: list[TriMesh]) -> TriMesh:
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return TriMesh(
            vertices=np.concatenate([m.vertices for m in meshes]),
            faces=np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=True)]),
            labels=np.concatenate([m.labels for m in meshes]),
            parts=np.concatenate([m.parts for m in meshes]))

    def with_part(self, label: Label, part: int) -> TriMesh:
        n = len(self.faces)
        return TriMesh(self.vertices, self.faces, np.full(n, label, np.uint8),
                       np.full(n, part, np.int32))

    def subset(self, face_mask: np.ndarray) -> TriMesh:
        """The selected faces, with unused vertices dropped."""
        faces = self.faces[face_mask]
        used, inverse = np.unique(faces, return_inverse=True)
        return TriMesh(self.vertices[used], inverse.reshape(-1, 3).astype(np.int64),
                       self.labels[face_mask], self.parts[face_mask])

    def face_normals(self) -> np.ndarray:
        """Unit normals (right-hand rule on the face order)."""
        v = self.vertices[self.faces]
        n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)

    def signed_volume(self) -> float:
        """Enclosed volume by the divergence theorem (exact for a closed, outward mesh)."""
        v = self.vertices[self.faces]
        return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0)

    def volume_centroid(self) -> np.ndarray:
        """Centroid of the enclosed solid (tetrahedra against the origin)."""
        v = self.vertices[self.faces]
        vol = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])) / 6.0
        return (vol[:, None] * v.sum(axis=1) / 4.0).sum(axis=0) / vol.sum()


def _mesh(vertices: np.ndarray, faces: np.ndarray, label: Label = Label.GROUND) -> TriMesh:
    n = len(faces)
    return TriMesh(np.asarray(vertices, np.float64), np.asarray(faces, np.int64),
                   np.full(n, label, np.uint8), np.zeros(n, np.int32))


# ---------------------------------------------------------------------------------------------
# terrain


@dataclass(frozen=True)
class Terrain:
    """z = tilted plane + undulation that fades in outside ``FLAT_RADIUS`` (seeded phases)."""

    waves: np.ndarray                    # (K, 4): kx, ky, phase, amplitude

    @staticmethod
    def from_rng(rng: np.random.Generator, n: int = 6) -> Terrain:
        wavelength = rng.uniform(70.0, 180.0, n)
        angle = rng.uniform(0.0, 2 * np.pi, n)
        k = 2 * np.pi / wavelength
        waves = np.stack([k * np.cos(angle), k * np.sin(angle), rng.uniform(0, 2 * np.pi, n),
                          rng.uniform(0.3, 0.8, n)], axis=1)
        return Terrain(waves)

    def z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        plane = TERRAIN_SLOPE[0] * x + TERRAIN_SLOPE[1] * y
        w = self.waves
        und = (w[:, 3] * np.sin(x[..., None] * w[:, 0] + y[..., None] * w[:, 1]
                                + w[:, 2])).sum(axis=-1)
        t = np.clip((np.hypot(x, y) - FLAT_RADIUS) / 50.0, 0.0, 1.0)
        return plane + und * t * t * (3 - 2 * t)

    def mesh(self, step: float = GRID_STEP) -> TriMesh:
        n = int(round(2 * HALF_EXTENT / step))
        g = np.linspace(-HALF_EXTENT, HALF_EXTENT, n + 1)
        xx, yy = np.meshgrid(g, g)                       # row = y, column = x
        verts = np.stack([xx.ravel(), yy.ravel(), self.z(xx, yy).ravel()], axis=1)
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        a = (i * (n + 1) + j).ravel()
        b, c, d = a + 1, a + n + 1, a + n + 2
        faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
        mesh = _mesh(verts, faces)
        cy = verts[faces, 1].mean(axis=1)
        labels = np.where((cy > ROAD_Y[0]) & (cy < ROAD_Y[1]), Label.ROAD, Label.GROUND)
        return TriMesh(mesh.vertices, mesh.faces, labels.astype(np.uint8), mesh.parts)


# ---------------------------------------------------------------------------------------------
# primitives (vectorised over rings and segments)


def _walls(outline: np.ndarray, z: np.ndarray) -> TriMesh:
    """Side walls of a closed CCW outline (K, 2) between the heights ``z`` (R,), outward."""
    k, r = len(outline), len(z)
    verts = np.concatenate([np.column_stack([outline, np.full(k, zi)]) for zi in z])
    ring, seg = np.meshgrid(np.arange(r - 1), np.arange(k), indexing="ij")
    a = (ring * k + seg).ravel()
    b = (ring * k + (seg + 1) % k).ravel()
    faces = np.concatenate([np.stack([a, b, b + k], 1), np.stack([a, b + k, a + k], 1)])
    return _mesh(verts, faces)


def _cap(outline: np.ndarray, z_edge: np.ndarray | float, rise: float, rings: int,
         centre: np.ndarray, up: bool = True) -> TriMesh:
    """A dome over the outline: rings scaled towards ``centre``, z = edge + rise·(1 - s²).

    ``z_edge`` may vary per outline vertex (a cap on sloping ground); ``up=False`` flips the
    faces so the cap closes a solid from below.
    """
    k = len(outline)
    s = np.linspace(1.0, 0.0, rings + 1)[:-1]
    rel = outline - centre
    z_edge = np.broadcast_to(np.asarray(z_edge, np.float64), (k,))
    xy = centre + s[:, None, None] * rel[None]
    zz = z_edge[None] * s[:, None] + rise * (1 - s[:, None] ** 2) \
        + (1 - s[:, None]) * z_edge.mean()
    verts = np.concatenate([np.column_stack([xy.reshape(-1, 2), zz.ravel()]),
                            [[centre[0], centre[1], z_edge.mean() + rise]]])
    ring, seg = np.meshgrid(np.arange(rings - 1), np.arange(k), indexing="ij")
    a = (ring * k + seg).ravel()
    b = (ring * k + (seg + 1) % k).ravel()
    apex = rings * k
    last = (rings - 1) * k + np.arange(k)
    faces = np.concatenate([np.stack([a, b, b + k], 1), np.stack([a, b + k, a + k], 1),
                            np.stack([last, np.roll(last, -1), np.full(k, apex)], 1)])
    if not up:
        faces = faces[:, ::-1]
    return _mesh(verts, faces)


def _disc(outline: np.ndarray, z: np.ndarray, up: bool) -> TriMesh:
    """A fan over a convex outline at per-vertex heights (flat or tilted)."""
    k = len(outline)
    verts = np.concatenate([np.column_stack([outline, z]),
                            [[*outline.mean(axis=0), z.mean()]]])
    faces = np.stack([np.arange(k), np.roll(np.arange(k), -1), np.full(k, k)], 1)
    return _mesh(verts, faces if up else faces[:, ::-1])


def _rect(centre: tuple[float, float], length: float, width: float, yaw_deg: float) -> np.ndarray:
    """CCW rectangle corners (4, 2); ``length`` along the yawed x axis."""
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [length / 2, width / 2]
    return local @ np.array([[c, s], [-s, c]]) + centre


def _icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere by repeated midpoint subdivision (vectorised edge dedup)."""
    t = (1 + 5 ** 0.5) / 2
    v = np.array([[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
                  [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]],
                 np.float64)
    f = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9],
                  [5, 11, 4], [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2],
                  [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
                  [8, 6, 7], [9, 8, 1]])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for _ in range(subdivisions):
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        uniq, inv = np.unique(edges, axis=0, return_inverse=True)
        mid = v[uniq].mean(axis=1)
        mid /= np.linalg.norm(mid, axis=1, keepdims=True)
        m = inv.reshape(3, -1) + len(v)                  # midpoints of edges 01, 12, 20
        v = np.concatenate([v, mid])
        a, b, c = f.T
        f = np.concatenate([np.stack([a, m[0], m[2]], 1), np.stack([b, m[1], m[0]], 1),
                            np.stack([c, m[2], m[1]], 1), np.stack([m[0], m[1], m[2]], 1)])
    return v, f


def polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * (x * np.roll(y, -1) - np.roll(x, -1) * y).sum())


def points_in_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points (loops over the polygon's few edges); only the
    points inside the polygon's bounding box are tested."""
    inside = np.zeros(len(xy), bool)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    cand = np.flatnonzero(np.all((xy >= lo) & (xy <= hi), axis=1))
    x, y = xy[cand, 0], xy[cand, 1]
    hit = np.zeros(len(cand), bool)
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        hit ^= crosses & (x < xc)
    inside[cand] = hit
    return inside


# ---------------------------------------------------------------------------------------------
# features


@dataclass(frozen=True)
class Feature:
    """One object on the site, with what the change truth needs to know about it.

    ``surface`` is what scanners see (walls reach a little below ground, no floor); ``solid``
    is the closed body above the ground surface, used to check ``volume`` numerically.
    ``volume_2p5d`` is the volume under the feature's top surface down to the ground, which is
    what a difference of elevation models measures (larger than ``volume`` for a tree).
    """

    id: str
    label: Label
    name_de: str
    name_en: str
    surface: TriMesh
    footprint: np.ndarray
    volume: float
    volume_2p5d: float
    centroid: np.ndarray
    height: float
    epochs: tuple[str, ...]
    approximate: bool = False
    hides_ground: bool = True
    axis: tuple[float, float] = (0.0, 0.0)
    solid: TriMesh | None = None
    area: float = 0.0                    # footprint area, m² (analytic)
    extra: dict[str, float] = field(default_factory=dict)


def gasometer_outline() -> np.ndarray:
    """The ribbed 24-gon, CCW: each corner wrapped by a pilaster (5 points per corner)."""
    n = GASOMETER_SIDES
    theta = np.radians(7.5) + 2 * np.pi * np.arange(n) / n   # a flat side faces south
    corner = GASOMETER_RADIUS * np.column_stack([np.cos(theta), np.sin(theta)])
    t_out = np.roll(corner, -1, axis=0) - corner
    t_out /= np.linalg.norm(t_out, axis=1, keepdims=True)
    t_in = np.roll(t_out, 1, axis=0)
    radial = corner / GASOMETER_RADIUS
    w, d = RIB_HALF_WIDTH, RIB_DEPTH
    pts = np.stack([corner - w * t_in, corner - w * t_in + d * radial, corner + d * radial * 1.15,
                    corner + w * t_out + d * radial, corner + w * t_out], axis=1)
    return pts.reshape(-1, 2)


def _gasometer(terrain: Terrain) -> Feature:
    outline = gasometer_outline()
    z0 = float(terrain.z(outline[:, 0], outline[:, 1]).min()) - 0.5
    rings = np.concatenate([[z0], np.linspace(0.0, GASOMETER_EAVE, 29)[1:]])
    walls = _walls(outline, rings)
    roof = _cap(outline, GASOMETER_EAVE, GASOMETER_HEIGHT - GASOMETER_EAVE, 8, np.zeros(2))
    surface = TriMesh.concat([walls, roof])
    footprint = outline
    area = polygon_area(footprint)
    # the dome z = rise·(1 - s²) over the radially scaled outline holds area·rise/2
    volume = area * (GASOMETER_EAVE + (GASOMETER_HEIGHT - GASOMETER_EAVE) / 2)
    return Feature("gasometer", Label.GASOMETER, "Gasometer", "Gasometer", surface, footprint,
                   volume=volume, volume_2p5d=volume,
                   centroid=np.array([0.0, 0.0, GASOMETER_EAVE / 2]),
                   height=GASOMETER_HEIGHT, epochs=EPOCHS, area=area)


def _prism_feature(fid: str, label: Label, names: tuple[str, str], terrain: Terrain,
                   footprint: np.ndarray, eave: float, ridge: float, epochs: tuple[str, ...],
                   rings: int = 2) -> Feature:
    """A box (``ridge == 0``) or a gabled house on a rectangle; heights above ground at the
    footprint's centre.  The ground is a plane there, so the analytic volume is exact:
    V = A·eave + A·ridge/2 (a gable prism is half its bounding box)."""
    centre = footprint.mean(axis=0)
    zc = float(terrain.z(centre[0], centre[1]))
    z_ground = terrain.z(footprint[:, 0], footprint[:, 1])
    z_eave = zc + eave
    z_found = float(z_ground.min()) - 0.5
    heights = np.linspace(z_found, z_eave, rings + 1)
    walls = _walls(footprint, heights)
    if ridge > 0:
        # ridge along the long side: the gable triangles sit on corners 1-2 and 3-0
        m12, m30 = footprint[1:3].mean(axis=0), footprint[[3, 0]].mean(axis=0)
        verts = np.array([[*footprint[0], z_eave], [*footprint[1], z_eave],
                          [*footprint[2], z_eave], [*footprint[3], z_eave],
                          [*m12, z_eave + ridge], [*m30, z_eave + ridge]])
        faces = np.array([[0, 1, 4], [0, 4, 5], [2, 3, 5], [2, 5, 4], [1, 2, 4], [3, 0, 5]])
        roof = _mesh(verts, faces)
        solid_top = roof
    else:
        roof = _disc(footprint, np.full(4, z_eave), up=True)
        solid_top = roof
    surface = TriMesh.concat([walls, roof])
    solid = TriMesh.concat([_walls(footprint, np.array([0.0, 1.0])), solid_top,
                            _disc(footprint, z_ground, up=False)])
    # the solid's walls go from the (tilted) ground to the eave: move the ring vertices
    wv = solid.vertices.copy()
    wv[:4, 2] = z_ground
    wv[4:8, 2] = z_eave
    solid = TriMesh(wv, solid.faces, solid.labels, solid.parts)
    area = polygon_area(footprint)
    volume = area * eave + area * ridge / 2
    return Feature(fid, label, names[0], names[1], surface, footprint, volume=volume,
                   volume_2p5d=volume, centroid=solid.volume_centroid(),
                   height=eave + ridge, epochs=epochs, axis=(float(centre[0]), float(centre[1])),
                   solid=solid, area=area,
                   extra={"eave_height_m": eave, "ridge_height_m": ridge})


def _stair_tower(terrain: Terrain) -> Feature:
    apothem = GASOMETER_RADIUS * np.cos(np.pi / GASOMETER_SIDES)
    fp = _rect((0.0, -(apothem + RIB_DEPTH + 0.5 + 3.0)), 8.5, 6.0, 0.0)
    f = _prism_feature("stair-tower", Label.GASOMETER, ("Treppenturm", "stair tower"), terrain,
                       fp, 115.0, 0.0, EPOCHS, rings=24)
    return f


def _tree(fid: str, terrain: Terrain, x: float, y: float, rng: np.random.Generator,
          epochs: tuple[str, ...]) -> Feature:
    """Trunk cylinder plus an ellipsoidal crown; its volume is approximate by nature."""
    zg = float(terrain.z(x, y))
    trunk_r = rng.uniform(0.2, 0.3)
    crown_a = rng.uniform(3.0, 4.0)
    crown_c = rng.uniform(3.5, 5.0)
    crown_base = rng.uniform(2.5, 3.5)           # crown bottom above ground
    zc = zg + crown_base + crown_c
    ang = np.linspace(0, 2 * np.pi, 9)[:-1]
    circle = np.column_stack([x + trunk_r * np.cos(ang), y + trunk_r * np.sin(ang)])
    trunk = _walls(circle, np.array([zg - 0.3, zg + crown_base + 0.5 * crown_c]))
    v, f = _icosphere(2)
    crown = _mesh(v * [crown_a, crown_a, crown_c] + [x, y, zc], f)
    surface = TriMesh.concat([trunk, crown])
    foot_ang = np.linspace(0, 2 * np.pi, 33)[:-1]
    footprint = np.column_stack([x + crown_a * np.cos(foot_ang), y + crown_a * np.sin(foot_ang)])
    trunk_volume = np.pi * trunk_r ** 2 * crown_base
    crown_volume = 4 / 3 * np.pi * crown_a ** 2 * crown_c
    # 2.5D: the column under the upper half-ellipsoid, down to the ground
    volume_2p5d = np.pi * crown_a ** 2 * (crown_base + crown_c) + crown_volume / 2
    return Feature(fid, Label.TREE, "Baum", "tree", surface, footprint,
                   volume=float(trunk_volume + crown_volume), volume_2p5d=float(volume_2p5d),
                   centroid=np.array([x, y, zc]), height=crown_base + 2 * crown_c,
                   epochs=epochs, approximate=True, hides_ground=False, axis=(x, y),
                   area=float(np.pi * crown_a ** 2),
                   extra={"crown_radius_m": crown_a, "crown_half_height_m": crown_c,
                          "trunk_radius_m": trunk_r, "crown_base_m": crown_base})


def _mound(terrain: Terrain, x: float, y: float, a: float, h: float,
           epochs: tuple[str, ...], rings: int = 24, segments: int = 96) -> Feature:
    """A spherical-cap heap on the terrain: z = terrain + cap(r).  Its volume above the ground
    is the cap's, V = π·h·(3a² + h²)/6, whatever the terrain does underneath."""
    rho = (a * a + h * h) / (2 * h)                    # sphere radius
    ang = 2 * np.pi * np.arange(segments) / segments
    r = a * np.sqrt(np.linspace(1.0, 0.0, rings + 1)[:-1])   # denser rings near the rim
    px = x + r[:, None] * np.cos(ang)
    py = y + r[:, None] * np.sin(ang)
    cap = np.sqrt(np.maximum(rho * rho - r * r, 0.0)) - (rho - h)
    zg = terrain.z(px, py)
    top_v = np.column_stack([px.ravel(), py.ravel(), (zg + cap[:, None]).ravel()])
    k = segments
    ring, seg = np.meshgrid(np.arange(rings - 1), np.arange(k), indexing="ij")
    ia = (ring * k + seg).ravel()
    ib = (ring * k + (seg + 1) % k).ravel()
    apex = rings * k
    last = (rings - 1) * k + np.arange(k)
    faces = np.concatenate([np.stack([ia, ib, ib + k], 1), np.stack([ia, ib + k, ia + k], 1),
                            np.stack([last, np.roll(last, -1), np.full(k, apex)], 1)])
    top = _mesh(np.concatenate([top_v, [[x, y, float(terrain.z(x, y)) + h]]]), faces,
                Label.EARTHWORK)
    # the solid's bottom shares the rim ring (cap = 0 there) so the mesh is closed
    bottom_v = np.column_stack([px.ravel(), py.ravel(), zg.ravel()])
    bottom_v[:k] = top_v[:k]
    bottom = _mesh(np.concatenate([bottom_v, [[x, y, float(terrain.z(x, y))]]]), faces[:, ::-1])
    bottom_faces = np.where(bottom.faces < k, bottom.faces, bottom.faces + len(top.vertices))
    solid = TriMesh(np.concatenate([top.vertices, bottom.vertices]),
                    np.concatenate([top.faces, bottom_faces]),
                    np.zeros(2 * len(faces), np.uint8), np.zeros(2 * len(faces), np.int32))
    volume = np.pi * h * (3 * a * a + h * h) / 6
    footprint = np.column_stack([x + a * np.cos(ang), y + a * np.sin(ang)])
    return Feature("mound", Label.EARTHWORK, "Erdhügel", "earth mound", top,
                   footprint, volume=float(volume), volume_2p5d=float(volume),
                   centroid=solid.volume_centroid(), height=h,
                   epochs=epochs, axis=(x, y), solid=solid, area=float(np.pi * a * a),
                   extra={"base_radius_m": a, "height_m": h, "sphere_radius_m": rho})


# ---------------------------------------------------------------------------------------------
# the site


TREE_XS = (-95.0, -75.0, -55.0, -35.0, 35.0, 55.0, 75.0, 95.0)
TREE_Y = -48.0
FELLED_TREE = "tree-06"                 # at x = 55: felled before 2021


@dataclass(frozen=True)
class Site:
    """The synthetic site: terrain, features (with the epochs they stand in)."""

    seed: int
    terrain: Terrain
    features: tuple[Feature, ...]

    def feature(self, fid: str) -> Feature:
        return next(f for f in self.features if f.id == fid)

    def features_in(self, epoch: str) -> list[Feature]:
        return [f for f in self.features if epoch in f.epochs]

    def scene(self, epoch: str) -> TriMesh:
        """Every surface standing at ``epoch``; part k = ``features[k-1]``, 0 = terrain."""
        if epoch not in EPOCHS:
            raise ValueError(f"unknown demo epoch {epoch!r}; expected one of {EPOCHS}")
        meshes = [self.terrain.mesh()]
        for k, f in enumerate(self.features, start=1):
            if epoch in f.epochs:
                meshes.append(f.surface.with_part(f.label, k))
        return TriMesh.concat(meshes)


def build_site(seed: int = 7) -> Site:
    """The Gasometer site; the seed varies terrain and tree shapes, never the changes."""
    rng = np.random.default_rng(seed)
    terrain = Terrain.from_rng(rng)
    e19, e21, e24 = EPOCHS
    feats: list[Feature] = [_gasometer(terrain), _stair_tower(terrain)]
    for i, x in enumerate(TREE_XS, start=1):
        fid = f"tree-{i:02d}"
        epochs = (e19,) if fid == FELLED_TREE else EPOCHS
        feats.append(_tree(fid, terrain, x, TREE_Y + rng.uniform(-1.0, 1.0), rng, epochs))
    feats.append(_prism_feature("building-gabled", Label.BUILDING,
                                ("Satteldachhaus", "gabled building"), terrain,
                                _rect((-85.0, 45.0), 22.0, 12.0, 20.0), 7.5, 4.5, (e19, e21)))
    feats.append(_prism_feature("pavilion", Label.PAVILION, ("Pavillon", "pavilion"), terrain,
                                _rect((80.0, 55.0), 26.0, 14.0, -12.0), 5.5, 0.0, (e21, e24)))
    feats.append(_mound(terrain, -70.0, -115.0, 16.0, 4.5, (e24,)))
    return Site(seed, terrain, tuple(feats))
