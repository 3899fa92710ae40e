"""What VR mode draws, read from the archive (no GL, no OpenXR, no Qt).

For one site: each epoch's mesh at the finest LOD within a triangle budget (one epoch is drawn
at a time, so the budget is per epoch), its change values against every earlier epoch the
archive holds them for (`changes/<a>__<b>/<key>/lod<k>.npz`; the epoch before first), and the
annotations of site.json. Colour limits come from the desktop's own rule
(`viewer.model.change_display.colour_scale`), so both views show the same scale.
Archive layout parsing is the desktop viewer's (`viewer.model.store.site_info`), so both views
agree on what a site holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from assets_manifest.errors import StadtzeitError
from processing.gltf import read_glb
from processing.types import Mesh
from viewer.model.change_display import ColourScale, colour_scale
from viewer.model.state import ChangeRef, EpochInfo, Region, SiteInfo, Text
from viewer.model.stories import Story, read_stories

log = logging.getLogger(__name__)

#: triangles of one epoch's mesh: what a PC VR GPU draws twice per frame at 90 Hz with room to
#: spare (see docs/VR.md and benchmarks/bench_vr.py)
FACE_BUDGET = 2_000_000
#: preferred change products when several are stored for the same pair
CHANGE_KEYS = ("m3c2", "c2m", "c2c", "dod")


class SceneError(StadtzeitError):
    """The site cannot be shown in VR (no such site or epoch, no meshes); says what to do."""


@dataclass
class ChangeField:
    """Per-vertex change of an epoch's mesh against an earlier epoch (metres, NaN = no value)."""

    a: str
    b: str
    key: str
    values: np.ndarray                      # (N,) float32
    significant: np.ndarray | None = None   # (N,) bool, when the product has it
    level_of_detection: float | None = None
    scale: ColourScale | None = None        # filled from the values when not given
    regions: list[Region] = field(default_factory=list)   # from the product's summary

    def __post_init__(self) -> None:
        if self.scale is None:
            self.scale = colour_scale(self.values, self.significant, self.level_of_detection)

    @property
    def limit(self) -> float:
        """Half-width of the diverging colour scale, a round number."""
        return self.scale.limit

    def is_significant(self) -> np.ndarray:
        """Per vertex: change the viewer calls real (the product's flag, else |d| >= LoD)."""
        finite = np.isfinite(self.values)
        if self.significant is not None:
            return finite & self.significant
        if self.level_of_detection:
            return finite & (np.abs(np.where(finite, self.values, 0)) >= self.level_of_detection)
        return finite


@dataclass
class EpochScene:
    id: str
    date: date | None
    lod: int
    mesh: Mesh                  # site frame, float32 vertices, normals, colours or texture
    changes: list[ChangeField] = field(default_factory=list)   # the epoch before first
    #: the coarser LODs of the same epoch (finest first), drawn instead of this mesh when its
    #: detail would be finer than the eye can see (far away, or a small miniature)
    coarser: list[EpochScene] = field(default_factory=list)
    edge: float = 0.0           # metres: median edge length, the detail this mesh carries

    def __post_init__(self) -> None:
        if not self.edge:
            self.edge = median_edge(self.mesh.vertices, self.mesh.faces)

    @property
    def levels(self) -> list[EpochScene]:
        """This mesh and its coarser LODs, finest first."""
        return [self, *self.coarser]

    @property
    def change(self) -> ChangeField | None:
        """The default comparison: with the epoch before, when the archive holds it."""
        return self.changes[0] if self.changes else None

    @property
    def n_faces(self) -> int:
        return self.mesh.n_faces


@dataclass(frozen=True)
class Marker:
    id: str
    position: tuple[float, float, float]    # site frame
    title: Text
    epochs: tuple[str, ...] = ()            # empty: every epoch
    text: Text | None = None

    def applies_to(self, epoch: str) -> bool:
        return not self.epochs or epoch in self.epochs


@dataclass
class VRScene:
    site_id: str
    name: Text
    licence: str
    attribution: str
    origin: tuple[float, float, float]
    version: int | None
    epochs: list[EpochScene]
    markers: list[Marker]
    stories: list[Story] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)   # stop picture: logical -> file

    def index(self, epoch_id: str | None) -> int:
        """Position of an epoch (None: the newest)."""
        if epoch_id is None:
            return len(self.epochs) - 1
        for i, e in enumerate(self.epochs):
            if e.id == epoch_id:
                return i
        raise SceneError(f"site {self.site_id!r} has no mesh for epoch {epoch_id!r}; epochs "
                         f"with meshes: {', '.join(e.id for e in self.epochs)}")

    def story(self, story_id: str) -> Story:
        for s in self.stories:
            if s.id == story_id:
                return s
        known = ", ".join(s.id for s in self.stories)
        raise SceneError(f"site {self.site_id!r} has no story {story_id!r}; its stories: "
                         f"{known or 'none (author one in the desktop viewer: Stories)'}")

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.min([e.mesh.vertices.min(axis=0) for e in self.epochs], axis=0)
        hi = np.max([e.mesh.vertices.max(axis=0) for e in self.epochs], axis=0)
        return lo.astype(np.float64), hi.astype(np.float64)


#: pixels: a level whose median edge looks smaller than this carries detail the eye cannot see
DETAIL_PIXELS = 2.0


def detail_level(epoch: EpochScene, metres_per_radian: float, pixel_angle: float,
                 change_from: str | None = None) -> int:
    """The coarsest of an epoch's levels whose median edge still looks smaller than
    `DETAIL_PIXELS` (0 = the finest, drawn when even its edges are visible). A model seen at
    `metres_per_radian` (its nearest distance over its scale) of a pixel `pixel_angle` wide.
    With `change_from`, only levels that hold the heatmap for that pair."""
    best = 0
    for i, level in enumerate(epoch.levels):
        if change_from is not None and not any(c.a == change_from for c in level.changes):
            continue
        if level.edge / max(metres_per_radian, 1e-9) < DETAIL_PIXELS * pixel_angle:
            best = i
    return best


def median_edge(vertices: np.ndarray, faces: np.ndarray, sample: int = 20_000) -> float:
    """Median edge length of a mesh (from a sample of its triangles), metres."""
    f = np.asarray(faces)[:: max(len(faces) // sample, 1)]
    if not len(f):
        return 0.0
    v = np.asarray(vertices, np.float64)
    return float(np.median(np.linalg.norm(v[f[:, 0]] - v[f[:, 1]], axis=1)))


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (for meshes stored without any)."""
    v = vertices.astype(np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return (n / np.where(length > 0, length, 1.0)).astype(np.float32)


def _change_refs(site: SiteInfo, epoch: EpochInfo, previous: str | None) -> list[ChangeRef]:
    """One stored product per earlier epoch `a` for this epoch (the best method for each),
    the epoch before first, then the others from the oldest."""
    best: dict[str, ChangeRef] = {}

    def rank(c: ChangeRef) -> tuple[int, str]:
        method = c.key.split("-")[0]          # keys may carry a parameter hash: m3c2-1a2b...
        return (CHANGE_KEYS.index(method) if method in CHANGE_KEYS else len(CHANGE_KEYS), c.key)

    for c in site.changes:
        if c.b == epoch.id and c.lods and c.current and \
                (c.a not in best or rank(c) < rank(best[c.a])):
            best[c.a] = c
    order = {e.id: i for i, e in enumerate(site.epochs)}
    return sorted(best.values(), key=lambda c: (c.a != previous, order.get(c.a, -1), c.a))


def choose_lod(epoch: EpochInfo, change: ChangeRef | None, budget: int,
               forced: int | None = None) -> int:
    """The finest LOD within `budget` triangles, preferring one with change values (so the
    heatmap works); the coarsest when none fits; `forced` when given and present."""
    if forced is not None:
        if forced not in epoch.lods:
            raise SceneError(f"epoch {epoch.id} has no LOD {forced}; it has "
                             f"{', '.join(f'lod{k}' for k in sorted(epoch.lods))}")
        return forced
    counts = {k: epoch.face_counts.get(k, -1) for k in epoch.lods}
    fitting = [k for k, n in counts.items() if 0 <= n <= budget]
    if not fitting:
        return max(epoch.lods)
    with_change = [k for k in fitting if change is not None and k in change.lods]
    return min(with_change or fitting)


def _epoch_level(version, e: EpochInfo, k: int, refs: list[ChangeRef]) -> EpochScene:
    """Epoch `e` at LOD `k`: its mesh and the change values stored for that LOD."""
    from viewer.model.scene import ProductError, change_from_products, read_change_values

    mesh = read_glb(version.files[e.lods[k]])
    if mesh.normals is None or len(mesh.normals) != len(mesh.vertices):
        mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
    changes = []
    for ref in refs:
        if k not in ref.lods:
            continue
        try:
            data = read_change_values(version.files[ref.lods[k]], len(mesh.vertices))
        except ProductError as exc:   # the site stays viewable without this heatmap
            log.warning("no heatmap %s -> %s at lod%d: %s", ref.a, e.id, k, exc)
            continue
        summary = version.read_json(ref.summary) if ref.summary else None
        ch = change_from_products(ref.a, ref.b, k, data, summary)
        changes.append(ChangeField(ref.a, ref.b, ref.key, ch.values, ch.significant,
                                   ch.level_of_detection, ch.scale(), ch.regions))
    return EpochScene(e.id, e.date, k, mesh, changes)


def load_scene(archive_path: str | Path, site: str | None = None, lod: int | None = None,
               face_budget: int = FACE_BUDGET) -> VRScene:
    """Read a site's meshes, change values and annotations for VR mode.

    Raises `SceneError` (or the archive's own errors) with what to do.
    """
    from archive import Archive
    from viewer.model.store import site_info

    archive = Archive.open(Path(archive_path))
    if site is None:
        ids = archive.site_ids()
        if len(ids) != 1:
            raise SceneError(f"the archive holds {len(ids)} sites "
                             f"({', '.join(ids) or 'none'}): name one, e.g. stadtzeit vr "
                             f"{ids[0] if ids else 'SITE'}")
        site = ids[0]
    version = archive.read(site)
    info = site_info(version, site)
    with_meshes = [e for e in info.epochs if e.lods]
    if not with_meshes:
        raise SceneError(f"site {site!r} has no meshes yet: ingest an epoch first "
                         f"(stadtzeit ingest MANIFEST)")

    epochs: list[EpochScene] = []
    previous: str | None = None
    for e in with_meshes:
        refs = _change_refs(info, e, previous)
        k = choose_lod(e, refs[0] if refs else None, face_budget, lod)
        fine = _epoch_level(version, e, k, refs)
        if lod is None:      # the coarser LODs too, for far views and small miniatures
            fine.coarser = [_epoch_level(version, e, c, refs) for c in sorted(e.lods) if c > k]
        epochs.append(fine)
        previous = e.id

    markers = [Marker(a.id, a.position, a.title, a.epochs, a.text) for a in info.annotations]
    stories, broken = read_stories(version, [e.id for e in with_meshes])
    for err in broken:              # a damaged story never hides the site or the others
        log.warning("%s", err)
    # the stops' pictures (read_stories checked that each is in the object)
    images = {stop.image: Path(version.files[stop.image]) for story in stories
              for stop in story.stops if stop.image and stop.image in version.files}
    return VRScene(info.id, info.name, info.licence, info.attribution, info.origin,
                   info.version, epochs, markers, stories, images)

