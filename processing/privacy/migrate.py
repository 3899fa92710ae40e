"""Migrate a site ingested before the privacy step: originals out of the public history.

Ingests before the privacy step stored the delivered files in the public object
(``epochs/<e>/source/...``) and made the products without the step.  ``migrate`` brings such a
site to the layout ingest makes now, in three steps that each leave a valid archive, so a run
killed at any moment loses nothing and the next run goes on where it stopped:

1. **Originals into the restricted object.**  Every source file that any public version holds
   and the restricted object does not (by digest) is committed there, one version per public
   version that brought it, in order (a file the restricted head already holds at the same path
   with other content, e.g. from a later ingest, is restored last).
2. **Re-derive.**  Epochs whose head products were made without the step, where the manifest
   (``site.toml`` in the archive; its defaults by capture) wants it, are ingested again from
   those originals (copied to a scratch delivery folder): the privacy step runs and the head's
   ``source/`` goes.  Ingest re-derives the epochs that register to a re-derived reference too.
3. **Rewrite the public history** with the erasure's machinery (``archive.erase.rewrite``): every
   version is replayed without ``source/`` files, without the products of epochs made without
   the step (in the versions before they were re-derived) and without change products computed
   from them; the rebuilt object is swapped in under the site lock (version numbers may shift;
   ``privacy/migrations.json`` maps them).  Before the swap every dropped original must be in
   the restricted object, by digest, or nothing is swapped.

A second run finds nothing to do and changes nothing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from archive.erase import MIGRATIONS, ErasePlan, plan_rewrite, public_site, rewrite
from archive.errors import ArchiveError
from archive.objects import load_inventory, version_dirs, version_state
from archive.restricted import restricted_id
from assets_manifest import SiteManifest, parse_manifest


class MigrationRefused(ArchiveError):
    """The migration cannot be done safely; nothing was changed by this step."""


@dataclass
class MigratePlan:
    """What a migration of one site moves, re-derives and drops."""

    site: str
    #: public version -> (logical path, digest) of originals to copy into the restricted object
    originals: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    #: epochs whose head products were made without the privacy step (to re-derive)
    rederive: list[str] = field(default_factory=list)
    #: the public history's rewrite (None: nothing to drop)
    history: ErasePlan | None = None

    @property
    def empty(self) -> bool:
        return not self.originals and not self.rederive and self.history is None

    def lines(self) -> list[str]:
        out = []
        for v, files in sorted(self.originals.items()):
            out += [f"copy {lp} ({self.site} v{v}) -> {restricted_id(self.site)}"
                    for lp, _ in files]
        out += [f"re-derive epoch {e} with the privacy step" for e in self.rederive]
        if self.history is not None:
            out += [f"drop from every version of {self.site}: {lp}" for lp in self.history.files]
            if self.history.versions_dropped:
                out.append(f"{self.site}: versions dropped: "
                           + ", ".join(f"v{n}" for n in self.history.versions_dropped))
        return out


def _is_source(lp: str) -> bool:
    parts = lp.split("/")
    return len(parts) > 3 and parts[0] == "epochs" and parts[2] == "source"


class _History:
    """The public object's versions, and which epochs' products were made without the step."""

    def __init__(self, archive, site: str, manifest: SiteManifest):
        self.obj = archive.object_path(site)
        inv = load_inventory(self.obj)
        self.content = inv["manifest"]                       # digest -> content paths
        self.states = {n: version_state(inv, v) for n, v in sorted(version_dirs(inv).items())}
        wanted = {str(e.id): e.privacy_enabled for e in manifest.epochs}
        # version -> epochs whose products there were made without a wanted privacy step
        self.unprotected: dict[int, set[str]] = {}
        bad_changes: set[str] = set()
        for n, state in self.states.items():
            bare = set()
            for lp, d in state.items():
                parts = lp.split("/")
                if len(parts) == 3 and parts[0] == "epochs" and parts[2] == "epoch.json":
                    record = json.loads(self.file(d).read_bytes())
                    done = (record.get("statistics") or {}).get("privacy") or {}
                    # an epoch no longer in the manifest: assume it wanted the step
                    if not done.get("enabled") and wanted.get(parts[1], True):
                        bare.add(parts[1])
            self.unprotected[n] = bare
            bad_changes |= {d for lp, d in state.items() if _change_of(lp, bare)}
        self.bad_changes = bad_changes

    def file(self, digest: str) -> Path:
        return self.obj / self.content[digest][0]

    def drop(self, lp: str, digest: str, number: int) -> bool:
        if _is_source(lp):
            return True
        parts = lp.split("/")
        if parts[0] == "epochs" and len(parts) > 1 and parts[1] in self.unprotected.get(number, ()):
            return True
        # change products computed from points or meshes made without the step, also where
        # a later version still carries them unchanged
        return parts[0] == "changes" and digest in self.bad_changes


def _change_of(lp: str, epochs: set[str]) -> bool:
    parts = lp.split("/")
    if len(parts) > 1 and parts[0] == "changes" and "__" in parts[1]:
        a, _, b = parts[1].partition("__")
        return a in epochs or b in epochs
    return False


def _restricted_state(archive, site: str) -> tuple[set[str], dict[str, str], dict[str, list]]:
    """(every digest, head state, content paths) of the restricted object (empty if none)."""
    obj = archive.object_path(restricted_id(site))
    if not obj.is_dir():
        return set(), {}, {}
    inv = load_inventory(obj)
    head = version_state(inv, inv["head"])
    return set(inv["manifest"]), head, inv["manifest"]


def _manifest(archive, site: str) -> tuple[bytes, SiteManifest]:
    head = archive.read(site)
    if not head.exists("site.toml"):
        raise MigrationRefused(f"{site}: the head version holds no site.toml; the epochs cannot "
                               "be re-derived without it. Ingest the site's manifest once "
                               "(stadtzeit ingest MANIFEST), then migrate")
    data = head.path("site.toml").read_bytes()
    return data, parse_manifest(data, head.path("site.toml"))


def plan(archive, site: str) -> MigratePlan:
    """What ``migrate`` would do (reads only)."""
    site = public_site(archive, site, "the migration writes")
    _bytes, manifest = _manifest(archive, site)
    hist = _History(archive, site, manifest)
    held, _rhead, _ = _restricted_state(archive, site)
    p = MigratePlan(site)
    planned: set[str] = set()
    for n, state in hist.states.items():
        new = [(lp, d) for lp, d in sorted(state.items())
               if _is_source(lp) and d not in held and d not in planned]
        planned |= {d for _, d in new}
        if new:
            p.originals[n] = new
    head_number = max(hist.states)
    in_head = {lp.split("/")[1] for lp in hist.states[head_number] if lp.startswith("epochs/")}
    p.rederive = sorted(hist.unprotected[head_number] & in_head)
    history = plan_rewrite(archive, site, hist.drop)
    p.history = history if history is not None and history.files else None
    for e in _to_ingest(manifest, p.rederive, in_head):
        _delivery_files(archive, site, manifest, e, hist.states[head_number])
    return p


def _to_ingest(manifest: SiteManifest, rederive: list[str], in_head: set[str]) -> list[str]:
    """The epochs to ingest again: those to re-derive, and all when the reference is one of
    them (the others register to it; ingest skips those whose inputs did not change)."""
    if str(manifest.reference_epoch_id) in rederive:
        return sorted(in_head | set(rederive))
    return list(rederive)


def _delivery_files(archive, site: str, manifest: SiteManifest, epoch_id: str,
                    public_head: dict[str, str]) -> dict[str, str]:
    """name under source/ -> its digest, for an epoch to re-derive; refuses (naming the file)
    when a listed source is in neither object or its path cannot be rebuilt."""
    epoch = next((e for e in manifest.epochs if str(e.id) == epoch_id), None)
    if epoch is None:
        raise MigrationRefused(f"{site}: epoch {epoch_id} is in the archive but not in its "
                               "site.toml, so it cannot be re-derived; erase it "
                               f"(stadtzeit privacy erase {site} --epoch {epoch_id}) or add it "
                               "to the manifest and ingest")
    _held, rhead, _ = _restricted_state(archive, site)
    base = f"epochs/{epoch_id}/source/"
    files = {lp[len(base):]: d for lp, d in rhead.items() if lp.startswith(base)}
    files.update({lp[len(base):]: d for lp, d in public_head.items() if lp.startswith(base)})
    for src in epoch.sources:
        if PurePosixPath(src.path).is_absolute() or ".." in PurePosixPath(src.path).parts:
            raise MigrationRefused(f"{site}: site.toml, epoch {epoch_id}, source {src.path!r}: "
                                   "an absolute or '..' path cannot be rebuilt from the archive; "
                                   "re-ingest this site from its delivery folder instead")
        if src.name not in files:
            raise MigrationRefused(f"{site}: epoch {epoch_id}: source {src.name} is in neither "
                                   f"the head of {site} nor that of {restricted_id(site)}; the "
                                   "epoch cannot be re-derived (re-ingest it from the delivery, "
                                   "or erase the epoch)")
    return files


def migrate(archive, site: str, *, user: str | None = None, dry_run: bool = False
            ) -> MigratePlan:
    """Migrate ``site`` (see the module's doc); returns the plan it carried out."""
    p = plan(archive, site)
    if dry_run or p.empty:
        return p
    site = p.site
    _copy_originals(archive, site, p, user)
    if p.rederive:
        _rederive(archive, site, p.rederive, user)
    manifest = _manifest(archive, site)[1]
    hist = _History(archive, site, manifest)
    history = plan_rewrite(archive, site, hist.drop)
    if history is not None and history.files:
        p.history = history

        def originals_kept(inventory: dict) -> None:
            held = _restricted_state(archive, site)[0]
            lost = sorted({lp for v in inventory["versions"]
                           for lp, d in version_state(inventory, v).items()
                           if _is_source(lp) and d not in held})
            if lost:
                raise MigrationRefused(f"{site}: {len(lost)} original(s) are not in "
                                       f"{restricted_id(site)} (first: {lost[0]}); nothing "
                                       "was rewritten")

        rewrite(archive, history, hist.drop, record=MIGRATIONS,
                # from the history, so that a run killed after re-deriving and the run that
                # finishes the job record the same
                entry={"rederived": sorted(set().union(*hist.unprotected.values())
                                           - hist.unprotected[max(hist.unprotected)]),
                       "originals": sorted(f for f in history.files if _is_source(f)),
                       "products_dropped": sorted(f for f in history.files
                                                  if not _is_source(f))},
                note="privacy migration", message="privacy migration: originals moved to "
                f"{restricted_id(site)}, products without the privacy step dropped", user=user,
                keep_check=originals_kept)
    return p


def _copy_originals(archive, site: str, p: MigratePlan, user: str | None) -> None:
    if not p.originals:
        return
    obj = archive.object_path(site)
    content = load_inventory(obj)["manifest"]
    _held, rhead, rcontent = _restricted_state(archive, site)
    robj = archive.object_path(restricted_id(site))
    final: dict[str, str] = {}
    for n, files in sorted(p.originals.items()):
        with archive.restricted_writer(site, user=user, message=f"originals from {site} v{n} "
                                       "(privacy migration)") as r:
            for lp, d in files:
                r.add_file(lp, obj / content[d][0])
                final[lp] = d
    restore = {lp: d for lp, d in rhead.items() if lp in final and final[lp] != d}
    if restore:
        with archive.restricted_writer(site, user=user, message="restore the head's originals "
                                       "(privacy migration)") as r:
            for lp, d in restore.items():
                r.add_file(lp, robj / rcontent[d][0])


def _rederive(archive, site: str, epochs: list[str], user: str | None) -> None:
    """Ingest ``epochs`` again from the originals in the restricted object."""
    from processing.ingest import ingest

    data, manifest = _manifest(archive, site)
    head = archive.read(site)
    epochs = _to_ingest(manifest, epochs, {lp.split("/")[1] for lp in head.files
                                           if lp.startswith("epochs/")})
    _held, rhead, rcontent = _restricted_state(archive, site)
    robj = archive.object_path(restricted_id(site))
    with tempfile.TemporaryDirectory(prefix=f"stadtzeit-migrate-{site}-") as tmp:
        folder = Path(tmp)
        (folder / "site.toml").write_bytes(data)
        for epoch in manifest.epochs:
            if str(epoch.id) not in epochs:
                continue
            files = _delivery_files(archive, site, manifest, str(epoch.id), {})
            listed = {s.name: folder / s.path for s in epoch.sources}
            parents = {path.parent for path in listed.values()}
            for name, d in files.items():
                # a listed source at its manifest path; the files it refers to (MTL,
                # textures) by their names relative to it, next to every listed source
                targets = [listed[name]] if name in listed else [q / name for q in parents]
                for target in targets:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(robj / rcontent[d][0], target)
        ingest(folder / "site.toml", archive, epochs=epochs, user=user)


__all__ = ["MigratePlan", "MigrationRefused", "migrate", "plan"]
