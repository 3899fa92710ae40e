"""Glue between the model, the archive and the views: what to load, when, and what to draw.

Everything slow (listing sites, reading GLB/NPZ, computing change, saving a viewpoint) goes to
the `Loader`; results come back on the UI thread, land in the model or the mesh cache, and the
views are redrawn from `scene.compose`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, QVariantAnimation, Signal

from assets_manifest.errors import StadtzeitError
from viewer.model.changes import compute_pair_change, default_method, with_regions_of
from viewer.model.scene import (
    INTERACTIVE_FACE_BUDGET,
    Cancelled,
    MeshData,
    ProductError,
    choose_lod,
    compose,
    heat_colors_for,
    mesh_key,
    read_change_values,
    read_glb,
)
from viewer.model.state import Camera, ChangeData, CompareMode, Region, ViewerModel
from viewer.model.store import ArchiveStore, SiteVersionLike, read_viewpoints
from viewer.qt.loader import Loader, MeshCache

log = logging.getLogger(__name__)

INTERACTION_IDLE_MS = 300   # full detail returns this long after the last interaction event
COMPUTED_CHANGES = 6        # change computed for pairs without a stored product, kept (~1 MB each)


def fill(text: str, *args: object) -> str:
    """Qt-style placeholders: %1, %2, ... (translators may reorder them)."""
    for i, arg in reversed(list(enumerate(args, 1))):
        text = text.replace(f"%{i}", str(arg))
    return text


class ViewerController(QObject):
    scene_changed = Signal()
    thumbnail = Signal(str, object)           # site id, (H, W, 3) uint8 picture for the list
    #: pixels (w, h) of those pictures: the desktop's site list; the kiosk's tiles ask more
    thumbnail_size = (112, 84)
    sites_loaded = Signal()
    mesh_loaded = Signal(str)                 # cache key

    def __init__(self, model: ViewerModel, loader: Loader | None = None,
                 budget: int = INTERACTIVE_FACE_BUDGET, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self.loader = loader or Loader(self)
        self.budget = budget
        self.store: ArchiveStore | None = None
        self._damage_told: set[tuple[str, tuple[int, ...]]] = set()  # said once per epoch
        self.cache = MeshCache()
        self.versions: dict[str, SiteVersionLike] = {}
        self.lods: dict[str, int] = {}          # epoch -> chosen LOD for the open site
        self.failed: dict[str, str] = {}        # cache key -> message
        self.views: dict[str, Any] = {}         # "primary"/"secondary" -> SceneView
        self._heat: tuple[tuple[int, bool], np.ndarray] | None = None
        # computed for pairs without a stored product: a kiosk shows the same few all day, and
        # each takes a second of CPU (and moments of the GIL the UI thread waits for)
        self._computed: OrderedDict[str, ChangeData] = OrderedDict()
        self._site_id: str | None = None
        self._fly_anim: QVariantAnimation | None = None
        # interaction LOD: while the camera moves each view shows the coarsest loaded LOD;
        # INTERACTION_IDLE_MS after the last interaction event the chosen LOD comes back
        self.interaction_lod = True
        self.interacting = False
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(INTERACTION_IDLE_MS)
        self._idle.timeout.connect(self.end_interaction)
        model.events.site.connect(self._on_site)
        model.events.epoch.connect(self._on_epoch)
        model.events.compare.connect(self._on_compare)
        model.events.fade.connect(self.refresh)
        model.events.change.connect(self.refresh)

    # ------------------------------------------------------------------ archive
    def open_archive(self, path: Any) -> None:
        """Open the archive read-only and list its sites in the background."""
        self.loader.cancel_all()
        if self.model.site is not None:
            self.model.close_site()
        self.model.set_sites([])  # the old archive's records must not be opened any more
        self.cache.clear()
        self._computed.clear()
        self.versions.clear()

        def job(progress: Callable[[float, str], None], cancelled: Callable[[], bool]):
            store = ArchiveStore(path)
            ids = store.site_ids()
            infos, versions, errors = [], {}, []
            for i, sid in enumerate(ids):
                if cancelled():
                    raise Cancelled
                progress(i / max(len(ids), 1), sid)
                try:
                    info, version = store.site(sid)
                except StadtzeitError as exc:
                    errors.append(str(exc))
                    continue
                infos.append(info)
                versions[sid] = version
            return store, infos, versions, errors

        self.loader.submit("sites", job, on_done=self._sites_done, on_failed=self._error)

    def _sites_done(self, result: Any) -> None:
        self.store, infos, versions, errors = result
        self.versions = versions
        self.model.set_sites(infos)
        for e in errors:
            self.model.message("error", e)
        if not infos and not errors:
            self.model.message("info", self.tr("The archive holds no sites yet."))
        self.sites_loaded.emit()
        for site in infos:
            self._load_thumbnail(site.id)

    def _error(self, message: str) -> None:
        self.model.message("error", message)

    # ------------------------------------------------------------------ meshes
    def cache_key(self, epoch: str, lod: int, site_id: str | None = None) -> str:
        sid = site_id or (self.model.site.id if self.model.site else "")
        version = getattr(self.versions.get(sid), "number", 0)
        return f"{sid}@{version}:{mesh_key(epoch, lod)}"

    def choose_lods(self) -> None:
        site = self.model.site
        self.lods = {}
        for e in site.epochs if site else []:
            counts = {k: n for k, n in e.face_counts.items() if n >= 0} or \
                {k: 0 for k in e.lods}
            if counts:
                self.lods[e.id] = choose_lod(counts, self.budget)
            elif e.lods:
                self.lods[e.id] = max(e.lods)

    def coarse_lod(self, epoch: str) -> int | None:
        """The coarsest LOD of an epoch: what the views show while the camera moves."""
        info = self.model.site.epoch(epoch) if self.model.site else None
        return max(info.lods) if info is not None and info.lods else None

    def _keep_keys(self) -> set[str]:
        keep = set()
        for e in self.model.shown_epochs():
            for lod in (self.lods.get(e), self.coarse_lod(e)):
                if lod is not None:
                    keep.add(self.cache_key(e, lod))
        return keep

    def ensure_mesh(self, epoch: str, lod: int | None = None, priority: int = 0) -> bool:
        """True when the mesh is in memory; otherwise start loading it."""
        site = self.model.site
        lod = self.lods.get(epoch) if lod is None else lod
        info = site.epoch(epoch) if site else None
        if site is None or lod is None or info is None or lod not in info.lods:
            if info is not None and not info.lods and epoch in self.model.shown_epochs():
                self.model.message("warning", fill(
                    self.tr("Epoch %1 has no mesh in the archive."), epoch))
            return False
        key = self.cache_key(epoch, lod)
        if key in self.cache:
            return True
        if key in self.failed or key in self.loader.jobs:
            return False
        version = self.versions.get(site.id)
        if version is None:  # the archive is being replaced
            return False
        path = version.files[info.lods[lod]]
        origin = np.asarray(site.origin, np.float64)
        logical = info.lods[lod]

        def job(progress, cancelled):
            progress(0.0, logical)
            mesh = read_glb(path, origin, source=logical)
            if cancelled():
                raise Cancelled
            return mesh

        def done(mesh: MeshData) -> None:
            self.cache.put(key, mesh, keep=self._keep_keys())
            damaged = sorted(k for k, n in info.face_counts.items() if n < 0)
            if damaged and epoch in self.model.shown_epochs() and \
                    (epoch, tuple(damaged)) not in self._damage_told:
                self._damage_told.add((epoch, tuple(damaged)))
                self.model.message("warning", fill(self.tr(
                    "LOD %1 of epoch %2 is damaged; showing LOD %3. Check the archive with: "
                    "stadtzeit archive verify"), ", ".join(map(str, damaged)), epoch, lod))
            self.mesh_loaded.emit(key)
            if self.model.camera is None and self.model.site and key.startswith(
                    f"{self.model.site.id}@"):
                self.model.set_camera(Camera.fit(mesh.bounds))
            self.refresh()

        def failed(message: str) -> None:
            self.failed[key] = message
            fallback = self._intact_lod(epoch, lod)
            if fallback is not None and self.lods.get(epoch) == lod:
                # another LOD of the epoch may be intact: show it, and say what to do
                self.lods[epoch] = fallback
                self.model.message("warning", fill(self.tr(
                    "LOD %1 of epoch %2 is damaged (%3). Showing LOD %4 instead."),
                    lod, epoch, message, fallback) + self._verify_advice(message))
                self.ensure_mesh(epoch, fallback, priority=priority)
                return
            self.model.unreadable.add(epoch)
            self.model.message("error", fill(self.tr("Could not load epoch %1: %2."),
                                             epoch, message) + self._verify_advice(message))
            self.model.events.change.emit()  # the change panel says it cannot be drawn

        self.loader.submit(key, job, on_done=done, on_failed=failed, priority=priority)
        return False

    def _verify_advice(self, message: str) -> str:
        """What to do about a damaged product, unless the message says it already."""
        if "stadtzeit archive verify" in message:
            return ""
        return " " + self.tr("Check the archive with: stadtzeit archive verify")

    def _intact_lod(self, epoch: str, damaged: int) -> int | None:
        """The nearest other LOD of `epoch` not known to be damaged (coarser first)."""
        info = self.model.site.epoch(epoch) if self.model.site else None
        if info is None:
            return None
        others = [k for k in info.lods if k != damaged and
                  self.cache_key(epoch, k) not in self.failed and info.face_counts.get(k, 0) >= 0]
        return min(others, key=lambda k: (abs(k - damaged), k < damaged), default=None)

    def is_ready(self, epoch: str) -> bool:
        lod = self.lods.get(epoch)
        return lod is not None and self.cache_key(epoch, lod) in self.cache

    def mesh(self, epoch: str, lod: int | None = None) -> MeshData | None:
        lod = self.lods.get(epoch) if lod is None else lod
        return None if lod is None else self.cache.get(self.cache_key(epoch, lod))

    def _load_thumbnail(self, site_id: str) -> None:
        site = next((s for s in self.model.sites if s.id == site_id), None)
        if site is None or not site.epochs:
            return
        newest = next((e for e in reversed(site.epochs) if e.lods), None)
        if newest is None:
            return
        logical = newest.lods[max(newest.lods)]
        path = self.versions[site_id].files[logical]

        def job(progress, cancelled) -> np.ndarray:
            from viewer.model.thumbnail import render_thumbnail

            # drawn here, in the worker thread, with numpy: the UI thread only sets the icon
            return render_thumbnail(read_glb(path, source=logical), self.thumbnail_size)

        self.loader.submit(f"thumb:{site_id}", job,
                           on_done=lambda image: self.thumbnail.emit(site_id, image),
                           on_failed=lambda msg: log.warning("thumbnail: %s", msg),
                           priority=-1)

    # ------------------------------------------------------------------ model events
    def _on_site(self) -> None:
        site = self.model.site
        if site is None:
            self._site_id = None
            for view in self.views.values():
                view.clear()
            return
        if site.id == self._site_id:  # a new version of the same site: keep the view
            self.choose_lods()
            self.refresh()
            return
        self._site_id = site.id
        for name, job in list(self.loader.jobs.items()):
            if "@" in name and not name.startswith(f"{site.id}@"):
                job.cancel()
        self.failed.clear()
        self._heat = None
        self.choose_lods()
        version = self.versions.get(site.id)
        if version is not None:
            self.model.set_viewpoints(read_viewpoints(version))
        for view in self.views.values():
            view.clear()

    def _on_epoch(self) -> None:
        m = self.model
        if not m.site:
            return
        for i, e in enumerate(m.shown_epochs()):
            self.ensure_mesh(e, priority=10 - i)
        # the coarse proxies for interaction (small: they load in a moment)
        for e in m.shown_epochs():
            coarse = self.coarse_lod(e)
            if coarse is not None and coarse != self.lods.get(e):
                self.ensure_mesh(e, coarse, priority=1)
        # the others next, so that playing and scrubbing never wait long
        for e in reversed(m.site.epoch_ids):
            self.ensure_mesh(e, priority=0)
        self._ensure_change()
        self.refresh()

    def _on_compare(self) -> None:
        self._on_epoch()

    # ------------------------------------------------------------------ change
    def _ensure_change(self) -> None:
        m = self.model
        a, b = m.epoch_a, m.epoch
        if m.compare_mode != CompareMode.HEATMAP or not m.site or not a or not b:
            return
        if a == b:
            m.message("info", self.tr("Choose two different epochs A and B to see change."))
            return
        if m.change is not None and (m.change.a, m.change.b) == (a, b):
            return
        name = f"change:{m.site.id}:{a}:{b}"
        if name in self.loader.jobs:
            return
        version = self.versions.get(m.site.id)
        if version is None:
            return
        # the method follows what the epochs captured; a stored product of it is shown, else
        # it is computed; either way a stored DoD's regions (2.5D volumes) go beside it
        method = default_method(m.site.epoch(a), m.site.epoch(b))
        ref = m.site.change(a, b, method)
        if ref is None and (method == "dod" or self.store is None):
            ref = m.site.change(a, b)
        stored_dod = m.site.change(a, b, "dod")
        regions_path = stored_dod.summary if stored_dod is not None and \
            method != "dod" else None

        def dod_regions() -> dict | None:
            """The stored DoD's summary, whose regions (2.5D volumes) go beside 3D values."""
            if regions_path is None:
                return None
            try:
                return version.read_json(regions_path)
            except (OSError, ValueError) as exc:
                raise ProductError(regions_path, f"unreadable: {exc}") from exc

        want = self.lods.get(b, 0)
        computed_key = ""
        if ref is not None and ref.lods:
            lod = want if want in ref.lods else min(ref.lods, key=lambda k: abs(k - want))
            self.ensure_mesh(b, lod, priority=5)
            npz = version.files[ref.lods[lod]]
            summary_path = version.files.get(ref.summary) if ref.summary else None

            def job(progress, cancelled):
                progress(0.1, ref.lods[lod])
                values = read_change_values(npz)
                summary = None
                if summary_path is not None:
                    try:
                        summary = version.read_json(ref.summary)
                    except (OSError, ValueError) as exc:
                        raise ProductError(ref.summary, f"unreadable: {exc}") from exc
                from viewer.model.scene import change_from_products
                return with_regions_of(change_from_products(a, b, lod, values, summary),
                                       dod_regions())
        else:
            lod_a, lod_b = self.lods.get(a), self.lods.get(b)
            info_a, info_b = m.site.epoch(a), m.site.epoch(b)
            if lod_a is None or lod_b is None or info_a is None or info_b is None:
                m.message("error", fill(self.tr("No meshes to compare for %1 and %2."), a, b))
                return
            mesh_a, mesh_b = self.mesh(a), self.mesh(b)
            path_a = version.files[info_a.lods[lod_a]]
            path_b = version.files[info_b.lods[lod_b]]
            lod = lod_b
            computed_key = (f"{m.site.id}@{getattr(version, 'number', 0)}:{a}:{lod_a}:{b}:"
                            f"{lod_b}:{method}")
            if computed_key in self._computed:
                self._computed.move_to_end(computed_key)
                m.set_change(self._computed[computed_key])
                return
            if m.site.stale(a, b, method):
                m.message("info", fill(self.tr(
                    "The stored %3 change product for %1 → %2 was made by an older version of "
                    "the method: computing it now (not stored). `stadtzeit compare` stores it "
                    "anew."), a, b, method.upper()))
            else:
                m.message("info", fill(self.tr(
                    "No stored %3 change product for %1 → %2: computing it now (not stored)."),
                    a, b, method.upper()))

            archive = self.store.archive if self.store else None
            site_id = m.site.id

            def job(progress, cancelled):
                return compute_pair_change(
                    archive, site_id, a, b, lod, lambda: mesh_a or read_glb(path_a),
                    lambda: mesh_b or read_glb(path_b), progress, cancelled, method=method,
                    regions_from=dod_regions())

        def done(change: ChangeData) -> None:
            if change.computed and computed_key:
                self._computed[computed_key] = change
                while len(self._computed) > COMPUTED_CHANGES:
                    self._computed.popitem(last=False)
            if (m.epoch_a, m.epoch) == (change.a, change.b):
                m.set_change(change)

        self.loader.submit(name, job, on_done=done, on_failed=self._error, priority=5)

    def heat_colors(self) -> np.ndarray | None:
        ch = self.model.change
        if ch is None:
            return None
        tag = (id(ch), self.model.significant_only)
        if self._heat is None or self._heat[0] != tag:
            self._heat = (tag, heat_colors_for(ch, self.model.significant_only))
        return self._heat[1]

    # ------------------------------------------------------------------ drawing
    def meshes_for_site(self) -> dict[str, MeshData]:
        site = self.model.site
        if not site:
            return {}
        prefix = self.cache_key("", 0).split(":")[0] + ":"
        return {k[len(prefix):]: v for k, v in self.cache.as_dict().items()
                if k.startswith(prefix)}

    def refresh(self) -> None:
        """Recompose what each view draws from the model and the loaded meshes."""
        if QThread.currentThread() is not self.thread():
            QTimer.singleShot(0, self.refresh)
            return
        meshes = self.meshes_for_site()
        lods = dict(self.lods)
        ch = self.model.change
        heat = None
        proxy: dict[str, int] = {}
        if self.interacting:
            for e in lods:
                coarse = self.coarse_lod(e)
                if coarse is not None and mesh_key(e, coarse) in meshes:
                    proxy[e] = coarse
        lods.update(proxy)
        # the change values belong to one LOD: a proxy of another LOD goes without colouring
        if self.model.compare_mode == CompareMode.HEATMAP and ch is not None and \
                proxy.get(ch.b, ch.lod) == ch.lod:
            lods[ch.b] = ch.lod
            mesh = meshes.get(mesh_key(ch.b, ch.lod))
            if mesh is not None and mesh.n_vertices != len(ch.values):
                self._error(fill(self.tr("The change product does not match the mesh of %1 "
                                         "(%2 values for %3 vertices)."),
                                 ch.b, len(ch.values), mesh.n_vertices))
                self.model.change = None
            else:
                heat = self.heat_colors()
        for role, view in self.views.items():
            view.set_scene(compose(self.model, meshes, role, lods, heat))
        self.scene_changed.emit()

    # ------------------------------------------------------------------ interaction LOD
    def begin_interaction(self) -> None:
        """The camera is moving (drag, wheel, gesture, fly keys, fly-to): show the coarse
        proxies now, and the chosen LOD again INTERACTION_IDLE_MS after the last call."""
        if not self.interaction_lod:
            return
        self._idle.start()
        if not self.interacting:
            self.interacting = True
            for view in self.views.values():
                view.set_moving(True)
            self.refresh()

    def end_interaction(self) -> None:
        self._idle.stop()
        if self.interacting:
            self.interacting = False
            for view in self.views.values():
                view.set_moving(False)
            self.refresh()

    # ------------------------------------------------------------------ camera
    def reset_view(self) -> None:
        mesh = self.mesh(self.model.epoch) if self.model.epoch else None
        if mesh is not None:
            self.model.set_camera(Camera.fit(mesh.bounds))

    def fly_to(self, region: Region, duration_ms: int = 700) -> None:
        """Animate the camera to look at a changed region from the current direction."""
        m = self.model
        if region.centroid is None or m.camera is None:
            return
        target = np.asarray(region.centroid, np.float64)
        if m.site is not None and np.abs(target[:2]).max() > 1e5:
            target = target - np.asarray(m.site.origin)  # stored in CRS coordinates
        start = m.camera
        end = start.look_at(target, max(region.size * 2.2, 8.0))
        if self._fly_anim is not None:
            self._fly_anim.stop()
        anim = QVariantAnimation(self)
        anim.setStartValue(0.0)
        anim.setEndValue(1.0)
        anim.setDuration(duration_ms)
        def step(t: object) -> None:
            self.begin_interaction()
            m.set_camera(start.lerp(end, float(t)))

        anim.valueChanged.connect(step)
        anim.finished.connect(lambda: m.set_camera(end))
        self._fly_anim = anim
        anim.start()

    # ------------------------------------------------------------------ viewpoints (the write)
    def save_viewpoint(self, name: str) -> None:
        m = self.model
        if not m.site or not self.store or m.camera is None:
            return
        site_id, store = m.site.id, self.store
        viewpoints = {**m.viewpoints, name: m.camera}
        message = f"viewer: save viewpoint '{name}'"

        def job(progress, cancelled):
            store.save_viewpoints(site_id, viewpoints, message)
            return store.site(site_id)

        def done(result: Any) -> None:
            info, version = result
            self.versions[site_id] = version
            # meshes stay valid: re-key what is loaded to the new version
            old_prefix = next((k.split(":")[0] for k in self.cache.as_dict()
                               if k.startswith(f"{site_id}@")), None)
            if old_prefix:
                for k, v in self.cache.as_dict().items():
                    if k.startswith(old_prefix + ":"):
                        self.cache.put(f"{site_id}@{version.number}:" + k.split(":", 1)[1], v)
            m.update_site(info)
            m.set_viewpoints(read_viewpoints(version))
            m.message("info", fill(self.tr("Saved view “%1” as archive version %2."), name,
                                   version.number))

        self.loader.submit(f"save-viewpoint:{site_id}", job, on_done=done,
                           on_failed=self._error)
