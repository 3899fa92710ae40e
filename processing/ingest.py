"""Ingest: a site manifest's epochs -> archive products, one archive version per epoch.

For every epoch: verify the sources (existence, sha256), read them, move them into the site
frame (origin subtracted in float64), clean, register to the reference epoch, build a surface
(or clean a delivered mesh), make the levels of detail, and write the cleaned points (LAZ), the
meshes (GLB), the original files and the provenance (epoch.json) as one new archive version.
All products of an epoch are built in a temporary folder first and handed to the archive in a
single commit, so a failed epoch never leaves a partial version.

An epoch whose inputs (source digests, preset, frame, reference) are unchanged is skipped:
re-ingesting the same manifest writes nothing and says "unchanged".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from archive import Archive, SiteNotFound
from archive.writer import check_writable
from assets_manifest import Epoch, SiteManifest, parse_manifest, verify_sources
from assets_manifest.errors import ManifestError
from assets_manifest.io import read_manifest_bytes
from assets_manifest.models import Registration
from processing import clean, georef, gltf, lazio, lod, meshclean, placement, register, surface
from processing.companions import companions
from processing.errors import ProcessingError
from processing.manifest_check import manifest_problems
from processing.presets import Preset, get_preset
from processing.privacy import step as privacy
from processing.provenance import Provenance, input_key, sha512_file
from processing.readers import read_source
from processing.sanity import check_at_site, check_read
from processing.scratch import remove_stale_scratch, scratch_error, scratch_folder
from processing.types import Mesh, PointCloud

log = logging.getLogger(__name__)

#: Stages in the order they run; the CLI shows one progress bar per epoch over these.
STAGES = ("verify", "read", "georeference", "privacy", "clean", "register", "surface", "lod",
          "write", "commit")

ProgressCallback = Callable[[str, str], None]  # (epoch id, stage name) at the start of a stage


@dataclass
class EpochOutcome:
    epoch: str
    status: str                        # "ingested", "unchanged" or "failed"
    version: int | None = None         # archive version written (None when unchanged/failed)
    points: int = 0
    faces: list[int] = field(default_factory=list)  # per LOD
    rmse: float | None = None
    seconds: float = 0.0
    error: str = ""


@dataclass
class IngestReport:
    site: str
    epochs: list[EpochOutcome]
    manifest_version: int | None = None  # version that only updated site.toml/site.json

    @property
    def unchanged(self) -> bool:
        return self.manifest_version is None and all(e.status == "unchanged" for e in self.epochs)

    @property
    def failed(self) -> list[EpochOutcome]:
        return [e for e in self.epochs if e.status == "failed"]


def ingest(manifest_path: str | Path, archive: Archive, *, epochs: list[str] | None = None,
           force: bool = False, user: str | None = None,
           progress: ProgressCallback | None = None, keep_going: bool = False) -> IngestReport:
    """Ingest the epochs of the manifest at ``manifest_path`` (all, or those in ``epochs``).

    The reference epoch is processed first, since the others register to it. Raises the first
    error unless ``keep_going``; epochs committed before a failure stay committed.
    """
    manifest_path = Path(manifest_path)
    manifest_bytes = read_manifest_bytes(manifest_path)
    manifest = parse_manifest(manifest_bytes, manifest_path)
    check_writable(archive)           # before minutes of processing, not at the commit
    remove_stale_scratch()
    selected = _select_epochs(manifest, epochs)
    notify = progress or (lambda _epoch, _stage: None)

    for e in selected:
        notify(e.id, "verify")
    verified = verify_sources(manifest, [e.id for e in selected])
    problems = manifest_problems(manifest, sources=True, epochs=[e.id for e in selected])
    if problems:
        raise ManifestError(manifest_path, problems)
    sha256_of = {(v.epoch_id, Path(v.path).resolve()): v.sha256 for v in verified}

    head = _head(archive, manifest.id)
    reference_id = manifest.reference_epoch_id
    order = sorted(selected, key=lambda e: (e.id != reference_id, e.id))
    ref_state: dict[str, Any] = {}
    report = IngestReport(site=manifest.id, epochs=[])
    manifest_written = False

    for epoch in order:
        t0 = time.perf_counter()
        try:
            outcome = _ingest_epoch(manifest, manifest_bytes, epoch, archive, head, ref_state,
                                    sha256_of, force=force, user=user, notify=notify,
                                    write_manifest=not manifest_written)
        except (ProcessingError, ManifestError) as exc:
            if not keep_going:
                raise
            outcome = EpochOutcome(epoch.id, "failed", error=str(exc))
        outcome.seconds = round(time.perf_counter() - t0, 2)
        report.epochs.append(outcome)
        if outcome.version is not None:
            manifest_written = True
            head = _head(archive, manifest.id)

    if not manifest_written and not report.failed:
        report.manifest_version = _write_manifest_only(archive, manifest, manifest_bytes, user)
    return report


def _select_epochs(manifest: SiteManifest, wanted: list[str] | None) -> list[Epoch]:
    if not wanted:
        return list(manifest.epochs)
    known = {e.id: e for e in manifest.epochs}
    missing = [w for w in wanted if w not in known]
    if missing:
        raise ManifestError(manifest.manifest_path, [(
            "epochs", f"no epoch {', '.join(missing)} in this manifest; it has "
                      f"{', '.join(known)}")])
    return [known[w] for w in wanted]


def _head(archive: Archive, site: str):
    try:
        return archive.read(site)
    except SiteNotFound:
        return None


def preset_for(epoch: Epoch) -> Preset:
    """The epoch's preset with its overrides; a manifest's coarse_registration turns it on."""
    overrides = dict(epoch.overrides)
    if epoch.coarse_registration:
        overrides["coarse_registration"] = True
    try:
        return get_preset(str(epoch.preset), overrides)
    except ProcessingError as exc:
        raise ProcessingError(f"epoch {epoch.id}: overrides: {exc}") from exc


def _epoch_key(manifest: SiteManifest, epoch: Epoch, preset: Preset, digests: list[str],
               reference_key: str | None) -> str:
    frame = {"crs": manifest.crs, "origin": list(manifest.origin),
             "boundary": [list(p) for p in manifest.boundary] if manifest.boundary else None,
             "source_crs": [s.crs for s in epoch.sources], "reference": reference_key,
             "privacy": privacy.settings(epoch),
             "placement": [s.placement.model_dump(mode="json") if s.placement else None
                           for s in epoch.sources],
             "registration": str(epoch.registration),
             "control_points": [c.model_dump(mode="json") for c in epoch.control_points]}
    return input_key(digests, preset.to_dict(), frame)


def _ingest_epoch(manifest: SiteManifest, manifest_bytes: bytes, epoch: Epoch,
                  archive: Archive, head, ref_state: dict[str, Any],
                  sha256_of: dict, *, force: bool, user: str | None,
                  notify: ProgressCallback, write_manifest: bool) -> EpochOutcome:
    preset = preset_for(epoch)
    is_reference = epoch.id == manifest.reference_epoch_id
    sources = [manifest.resolve_source(s) for s in epoch.sources]
    prov = Provenance(site=manifest.id, epoch=epoch.id, preset=preset.to_dict())

    stored = _stored_files(epoch, sources)
    with prov.stage("fixity"):
        digests = [sha512_file(p) for _, p in stored]
    listed = {path.resolve(): src for src, path in zip(epoch.sources, sources, strict=True)}
    for (name, path), digest in zip(stored, digests, strict=True):
        src = listed.get(path.resolve())
        prov.inputs.append({"name": name, "size": path.stat().st_size, "sha512": digest,
                            "sha256": sha256_of.get((epoch.id, path.resolve())),
                            "listed_in_manifest": src is not None,
                            "crs": src.crs if src else None})
        prov.event("fixity", "success", f"{name}: sha512 computed"
                   + ("; sha256 matches the manifest" if src and src.sha256 else "")
                   + ("" if src else "; referenced by a listed source, stored with it"))

    reference_key = None if is_reference else ref_state.get("key") or _stored_key(
        head, manifest.reference_epoch_id)
    key = _epoch_key(manifest, epoch, preset, digests, reference_key)
    prov.input_key = key
    if is_reference:
        ref_state["key"] = key

    if _stored_key(head, epoch.id) == key:
        # Products are current; a changed manifest alone gets a version of its own at the end.
        log.info("epoch %s unchanged", epoch.id)
        return EpochOutcome(epoch.id, "unchanged")

    with scratch_folder(epoch.id) as work:
        try:
            products, cloud, mesh_lods = _process(
                manifest, epoch, preset, sources, archive, head, ref_state, prov, work,
                force=force, notify=notify, is_reference=is_reference)
        except OSError as exc:
            raise scratch_error(exc, epoch.id, work) from None
        notify(epoch.id, "commit")
        base = f"epochs/{epoch.id}"
        prov.event("ingestion", "success",
                   f"{len(stored)} source file(s) stored bit-exact under {base}/source/ of the "
                   "restricted object")
        # Originals first: a failure between the two commits leaves them preserved and no
        # public products, and the next run finds the restricted part unchanged.
        with archive.restricted_writer(manifest.id, user=user,
                                       message=f"originals of epoch {epoch.id}") as r:
            r.remove_tree(base)
            for name, path in stored:
                r.add_file(f"{base}/source/{name}", path)
            for logical, path in privacy.restricted_files(work).items():
                r.add_file(f"{base}/{logical}", path)
        with archive.writer(manifest.id, message=f"ingest epoch {epoch.id} ({preset.name})",
                            user=user) as w:
            if _stored_key(_head(archive, manifest.id), epoch.id) == key:
                # Another ingest of the same inputs committed while this one processed: the
                # lock is ours now and the head already holds these products.
                log.info("epoch %s stored meanwhile by another ingest", epoch.id)
                return EpochOutcome(epoch.id, "unchanged")
            if write_manifest:
                _add_manifest(w, manifest, manifest_bytes)
            w.remove_tree(base)
            for logical, path in products.items():
                w.add_file(f"{base}/{logical}", path)
            w.add_json(f"{base}/epoch.json", prov.to_dict())
        return EpochOutcome(epoch.id, "ingested", version=w.version, points=len(cloud),
                            faces=[m.n_faces for m in mesh_lods],
                            rmse=prov.registration.get("inlier_rmse"))


def _stored_files(epoch: Epoch, sources: list[Path]) -> list[tuple[str, Path]]:
    """(name under source/, path) of every listed source and the files it refers to."""
    out: list[tuple[str, Path]] = []
    for src, path in zip(epoch.sources, sources, strict=True):
        if all(path.resolve() != p.resolve() for _, p in out):
            out.append((src.name, path))
        for extra in companions(path):
            name = extra.relative_to(path.parent.resolve()).as_posix()
            if all(name != n and extra != p.resolve() for n, p in out):
                out.append((name, extra))
    return out


def _stored_key(head, epoch_id: str) -> str | None:
    if head is None or not head.exists(f"epochs/{epoch_id}/epoch.json"):
        return None
    return head.read_json(f"epochs/{epoch_id}/epoch.json").get("input_key")


def _manifest_changed(head, manifest_bytes: bytes) -> bool:
    return head is None or not head.exists("site.toml") or \
        head.path("site.toml").read_bytes() != manifest_bytes


def _add_manifest(w, manifest: SiteManifest, manifest_bytes: bytes) -> None:
    w.add_bytes("site.toml", manifest_bytes)
    w.add_json("site.json", manifest.to_json_dict())


def _write_manifest_only(archive: Archive, manifest: SiteManifest, manifest_bytes: bytes,
                         user: str | None) -> int | None:
    head = _head(archive, manifest.id)
    if head is None or not _manifest_changed(head, manifest_bytes):
        return None
    with archive.writer(manifest.id, message="update site manifest", user=user) as w:
        _add_manifest(w, manifest, manifest_bytes)
    return w.version


# --- the stages ---------------------------------------------------------------------------


def _process(manifest: SiteManifest, epoch: Epoch, preset: Preset, sources: list[Path],
             archive: Archive, head, ref_state: dict[str, Any], prov: Provenance, work: Path,
             *, force: bool, notify: ProgressCallback, is_reference: bool,
             ) -> tuple[dict[str, Path], PointCloud, list[Mesh]]:
    notify(epoch.id, "read")
    clouds: list[PointCloud] = []
    meshes: list[Mesh] = []
    referenced = {c for p in sources for c in companions(p)}
    of: dict[int, Any] = {}  # id(data) -> its manifest source
    with prov.stage("read"):
        for src, path in zip(epoch.sources, sources, strict=True):
            if path.resolve() in referenced:   # an MTL or texture, listed as the docs advise
                prov.event("format validation", "success",
                           f"{src.name}: read with the source that refers to it")
                continue
            data = read_source(path, crs=src.crs)
            check_read(data.vertices if isinstance(data, Mesh) else data.xyz, path,
                       "vertices" if isinstance(data, Mesh) else "points")
            size = f"{data.n_faces} faces" if isinstance(data, Mesh) else f"{len(data)} points"
            prov.event("format validation", "success",
                       f"{src.name}: read {size}, CRS {data.crs or src.crs}")
            (meshes if isinstance(data, Mesh) else clouds).append(data)
            of[id(data)] = src

    notify(epoch.id, "georeference")
    with prov.stage("georeference"):
        georef.check_site_frame(manifest.crs, manifest.origin, manifest.location.lat,
                                manifest.location.lon)
        for item, src in _with_sources(epoch, clouds, meshes):
            attr = "vertices" if isinstance(item, Mesh) else "xyz"
            xyz = getattr(item, attr)
            if src.placement is not None:
                xyz = placement.place(xyz, src.placement, manifest.origin)
                prov.event("georeferencing", "success",
                           f"{src.name}: placed from its local frame by the manifest's "
                           f"placement (max scale {placement.scale_of(src.placement):g})")
            elif item.crs is None and epoch.registration == Registration.CONTROL_POINTS:
                item.frame = "local"                 # the control points place it
                continue
            else:
                for note in georef.frame_notes(item.crs, manifest.crs, source=item.source):
                    prov.event("georeferencing", "warning", f"{src.name}: {note}")
                xyz = georef.to_site_frame(xyz, item.crs, manifest.crs, manifest.origin,
                                           source=item.source)
            check_at_site(xyz, item.source, item.crs)
            setattr(item, attr, xyz)
            item.frame = "site"
    boundary = _boundary_site(manifest)

    notify(epoch.id, "privacy")
    with prov.stage("privacy"):
        clouds, meshes = privacy.apply(epoch, manifest, clouds, meshes, prov, work,
                                       [of[id(c)] for c in clouds], [of[id(m)] for m in meshes])

    notify(epoch.id, "clean")
    with prov.stage("clean"):
        if meshes:
            if len(meshes) > 1:
                raise ProcessingError(
                    f"epoch {epoch.id}: {len(meshes)} mesh sources; give one mesh per epoch "
                    "(merge tiles before ingest) or split the epoch")
            mesh, stats = meshclean.clean_mesh(meshes[0])
            cloud = _points_of_mesh(mesh)
            prov.statistics["mesh_cleaning"] = stats
        else:
            cloud = _concat(clouds, epoch)
            try:
                # a local-frame scan is cropped nowhere: the boundary is in the site frame
                cloud, stats = clean.clean_points(cloud, preset,
                                                  boundary if cloud.frame == "site" else None)
            except ProcessingError as exc:
                names = ", ".join(s.name for s in epoch.sources)
                raise ProcessingError(f"epoch {epoch.id} ({names}): {exc}") from None
            _warn_if_cleaning_removed_most(stats, preset, prov, epoch)
            mesh = None
        prov.statistics["cleaning"] = stats

    notify(epoch.id, "register")
    with prov.stage("register"):
        transform = _register(manifest, epoch, preset, cloud, head, ref_state, prov,
                              force=force, is_reference=is_reference)
        if transform is not None:
            cloud = register.apply_transform(cloud, transform)
            if mesh is not None:
                mesh = register.apply_transform(mesh, transform)
            cloud.frame = "site"
            if mesh is not None:
                mesh.frame = "site"
        if is_reference:
            ref_state["cloud"] = cloud

    notify(epoch.id, "surface")
    with prov.stage("surface"):
        if mesh is None:
            mesh = surface.reconstruct(cloud, preset)
            mesh, stats = meshclean.clean_mesh(mesh)
            prov.statistics["mesh_cleaning"] = stats
            prov.statistics["surface_method"] = preset.surface_method

    notify(epoch.id, "lod")
    with prov.stage("lod"):
        lods = lod.make_lods(mesh, preset.lod_fractions, aggressiveness=preset.lod_aggressiveness,
                             preserve_border=preset.lod_preserve_border,
                             texture_size=preset.texture_size)

    notify(epoch.id, "write")
    products: dict[str, Path] = {}
    with prov.stage("write"):
        extras = {"site": manifest.id, "epoch": epoch.id, "crs": manifest.crs,
                  "origin": list(manifest.origin)}
        (work / "mesh").mkdir()
        for k, m in enumerate(lods):
            path = work / "mesh" / f"lod{k}.glb"
            gltf.write_glb(m, path, extras=extras | {"lod": k})
            products[f"mesh/lod{k}.glb"] = path
            prov.products[f"mesh/lod{k}.glb"] = {"faces": m.n_faces,
                                                 "vertices": int(len(m.vertices)),
                                                 "textured": m.texture is not None}
        laz = work / "points.laz"
        # The capture date as the LAS creation date: same inputs, byte-identical file.
        lazio.write_laz(cloud, laz, manifest.origin, manifest.crs,
                        created=date.fromisoformat(str(epoch.id)))
        products["points.laz"] = laz
        prov.products["points.laz"] = {"points": len(cloud)}
    prov.statistics["points"] = len(cloud)
    prov.statistics["faces"] = [m.n_faces for m in lods]
    return products, cloud, lods


#: cleaning that keeps less than this share of an epoch's points is recorded as a warning
CLEAN_WARN_SHARE = 0.5

_CLEAN_HINTS = {
    "voxel_merged": "voxel thinning merged them: voxel_size is {voxel_size} m; for small "
                    "objects or to keep full density set overrides = {{ voxel_size = 0.0 }} "
                    "(or a smaller edge)",
    "outside_boundary": "they lie outside the site boundary: check 'boundary', the CRS and "
                        "the origin",
    "noise_class": "their classes are in drop_classes {drop_classes}",
    "statistical_outliers": "the outlier filter removed them: raise outlier_std_ratio "
                            "({outlier_std_ratio})",
}


def _warn_if_cleaning_removed_most(stats: dict[str, int], preset: Preset, prov: Provenance,
                                   epoch: Epoch) -> None:
    """A warning event (and log line) when cleaning dropped most of the points, naming the
    stage that dropped the most and the parameter to change."""
    n_in, n_out = stats["points_in"], stats["points_out"]
    if n_in == 0 or n_out >= CLEAN_WARN_SHARE * n_in:
        return
    stage = max(_CLEAN_HINTS, key=lambda k: stats.get(k, 0))
    message = (f"cleaning kept {n_out:,} of {n_in:,} points ({100 * n_out / n_in:.1f} %); "
               f"{stats.get(stage, 0):,} removed because "
               + _CLEAN_HINTS[stage].format(**preset.to_dict()))
    prov.event("cleaning", "warning", message)
    log.warning("epoch %s: %s", epoch.id, message)
def _with_sources(epoch: Epoch, clouds: list[PointCloud], meshes: list[Mesh]):
    """(data, manifest source) pairs; readers keep each file's path in ``source``."""
    by_name = {s.name: s for s in epoch.sources}
    for item in (*clouds, *meshes):
        yield item, by_name[item.source.name]


def _register(manifest: SiteManifest, epoch: Epoch, preset: Preset, cloud: PointCloud, head,
              ref_state: dict[str, Any], prov: Provenance, *, force: bool,
              is_reference: bool) -> np.ndarray | None:
    """Align the epoch as its manifest says; record mode, stable share, residuals and every
    warning in the provenance.  Returns the transform to apply (None: nothing moves)."""
    mode = str(epoch.registration)
    ref_id = manifest.reference_epoch_id
    if mode == "control-points":
        cps = epoch.control_points
        measured = np.array([c.measured for c in cps], dtype=np.float64)
        if cloud.frame == "local":
            where = "the scan's local frame"
        else:
            crs = cloud.crs
            measured = georef.to_site_frame(measured, crs, manifest.crs, manifest.origin,
                                            source=f"epoch {epoch.id} control_points")
            where = "the files' CRS"
        known = np.array([c.known for c in cps], dtype=np.float64) - np.asarray(manifest.origin)
        result = register.register_control_points(cloud.xyz, [c.id for c in cps], measured,
                                                   known, preset, force=force)
        prov.registration = result.to_dict() | {"reference": None, "measured_in": where}
        _registration_events(prov, result, f"{len(cps)} control points, RMS residual "
                             f"{result.inlier_rmse:.4f} m, worst "
                             f"{max(c['residual_m'] for c in result.control_points):.4f} m")
        return result.transform
    if cloud.frame == "local":
        raise ProcessingError(f"epoch {epoch.id}: a source has no CRS and no placement; give it "
                              "crs, a placement, or use registration = \"control-points\"")
    if is_reference:
        prov.registration = {"reference": True, "mode": mode, "transform": np.eye(4).tolist(),
                             "inlier_rmse": 0.0, "fitness": 1.0, "max_shift": 0.0}
        prov.event("registration", "success", "reference epoch: georeference kept")
        return None
    reference = ref_state.get("cloud") or _load_reference(manifest, head)
    # The residual mixes the noise of both epochs: a TLS epoch registered onto an airborne
    # reference is held to the looser of the two presets' limits.
    ref_preset = preset_for(manifest.epoch(ref_id))
    limit = max(preset.icp_rmse_limit, ref_preset.icp_rmse_limit)
    result = register.register(cloud, reference, preset.replace(icp_rmse_limit=limit),
                                force=force, mode=mode)
    prov.registration = result.to_dict() | {"reference": ref_id, "rmse_limit": limit}
    applied = "georeference kept" if result.max_shift == 0 else (
        f"moved by up to {result.max_shift:.3f} m")
    _registration_events(prov, result, f"{mode} to {ref_id}: {applied}; stable-area RMSE "
                         f"{result.inlier_rmse:.4f} m on {result.stable_share:.0%} of the "
                         f"overlap (fitness {result.fitness:.3f})")
    return None if result.max_shift == 0 else result.transform


def _registration_events(prov: Provenance, result, detail: str) -> None:
    prov.event("registration", "success" if not result.warnings else "warning", detail)
    for w in result.warnings:
        prov.event("registration", "warning", w)
    prov.registration["warnings"] = list(result.warnings)


def _boundary_site(manifest: SiteManifest) -> np.ndarray | None:
    if not manifest.boundary:
        return None
    b = np.asarray(manifest.boundary, dtype=np.float64)
    return b - np.asarray(manifest.origin[:2], dtype=np.float64)


def _concat(clouds: list[PointCloud], epoch: Epoch) -> PointCloud:
    if not clouds:
        raise ProcessingError(f"epoch {epoch.id}: no readable point or mesh source")
    if len(clouds) == 1:
        return clouds[0]

    def join(attr: str, width: int | None, dtype) -> np.ndarray | None:
        parts = [getattr(c, attr) for c in clouds]
        if all(p is None for p in parts):
            return None
        shape = lambda c: (len(c),) if width is None else (len(c), width)  # noqa: E731
        return np.concatenate([p if p is not None else np.zeros(shape(c), dtype)
                               for p, c in zip(parts, clouds, strict=True)])

    common = set.intersection(*(set(c.extra) for c in clouds))
    frames = {c.frame for c in clouds}
    if len(frames) > 1:
        raise ProcessingError(f"epoch {epoch.id}: some sources are in a local frame without "
                              "placement and some in a CRS; give every local scan a placement "
                              "or a crs")
    return PointCloud(
        xyz=np.concatenate([c.xyz for c in clouds]), crs=clouds[0].crs, frame=frames.pop(),
        rgb=join("rgb", 3, np.uint16), intensity=join("intensity", None, np.uint16),
        classification=join("classification", None, np.uint8),
        extra={k: np.concatenate([c.extra[k] for c in clouds]) for k in sorted(common)})


def _points_of_mesh(mesh: Mesh, density: float = 4.0, max_points: int = 3_000_000,
                    seed: int = 0) -> PointCloud:
    """Points sampled on a delivered mesh's surface, for registration, change detection and
    points.laz: area-weighted, ``density`` per m² (capped at ``max_points``), the same points
    for the same mesh (fixed seed); coloured from the texture or the vertex colours. Vertices
    alone would be far too sparse on the large flat faces photogrammetry leaves."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    tri = v[f]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    n = int(min(max_points, max(len(v), density * area.sum())))
    rng = np.random.default_rng(seed)
    face = rng.choice(len(f), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    flip = r1 + r2 > 1.0                                   # fold into the triangle
    r1[flip], r2[flip] = 1.0 - r1[flip], 1.0 - r2[flip]
    w = np.column_stack([1.0 - r1 - r2, r1, r2])           # barycentric weights
    xyz = np.einsum("ij,ijk->ik", w, tri[face])
    rgb = None
    if mesh.texture is not None and mesh.uv is not None:
        uv = np.einsum("ij,ijk->ik", w, np.asarray(mesh.uv, np.float64)[f[face]])
        h, wd = mesh.texture.shape[:2]
        col = np.clip((uv[:, 0] % 1.0) * (wd - 1), 0, wd - 1).astype(np.intp)
        row = np.clip((uv[:, 1] % 1.0) * (h - 1), 0, h - 1).astype(np.intp)
        rgb = mesh.texture[row, col, :3].astype(np.uint16) * 257
    elif mesh.vertex_colors is not None:
        c = np.einsum("ij,ijk->ik", w, mesh.vertex_colors[f[face], :3].astype(np.float64))
        rgb = np.round(c).astype(np.uint16) * 257
    return PointCloud(xyz=xyz, crs=mesh.crs, frame=mesh.frame, rgb=rgb, source=mesh.source)


def _load_reference(manifest: SiteManifest, head) -> PointCloud:
    ref = manifest.reference_epoch_id
    logical = f"epochs/{ref}/points.laz"
    if head is None or not head.exists(logical):
        raise ProcessingError(
            f"the reference epoch {ref} has no products in the archive yet; ingest it first "
            f"(stadtzeit ingest MANIFEST --epoch {ref}) or ingest all epochs together")
    return lazio.read_laz_site(head.path(logical), manifest.origin)


__all__ = ["EpochOutcome", "IngestReport", "STAGES", "ingest", "preset_for"]
