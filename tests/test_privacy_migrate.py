"""``stadtzeit privacy migrate`` on an archive as ingest left it before the privacy step:
originals in the public object (every version), products made without the step.

The pre-privacy archive is built for real: the demo delivery (test density) is ingested with
the step off, and each public version is replayed into a fresh archive with the epoch's
originals beside its products, the manifest without ``[epochs.privacy]`` tables and
``epoch.json`` without the privacy record, as the old ingest wrote them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive import Archive
from archive._ocfl import Validator
from archive.erase import MIGRATIONS
from archive.restricted import RestrictedMaterial
from assets_manifest import parse_manifest
from processing.demo.transients import Transient
from processing.ingest import ingest
from processing.lazio import read_laz_site
from processing.privacy.check import check_textures
from processing.privacy.migrate import MigrationRefused, migrate

SITE = "gasometer-demo"
RESTRICTED = f"{SITE}--restricted"
ROOT = Path(__file__).resolve().parents[1]


def _without_privacy(text: str) -> str:
    """The manifest as it was before the step: no [epochs.privacy] tables."""
    return re.sub(r"\n\[epochs\.privacy\]\n(?:[^\[\n][^\n]*\n|\n)*", "\n", text)


def _step_off(text: str) -> str:
    return re.sub(r"(\ncapture = [^\n]*\n)", r"\1privacy = { enabled = false }\n",
                  _without_privacy(text))


@pytest.fixture(scope="module")
def pre_privacy(demo_site, tmp_path_factory):
    sources, _archive, _report = demo_site
    base = tmp_path_factory.mktemp("pre-privacy")
    delivery = base / "delivery"
    shutil.copytree(sources.out_dir, delivery)
    old_toml = _without_privacy(sources.manifest_path.read_text()).encode()
    off_path = delivery / sources.manifest_path.relative_to(sources.out_dir)
    off_path.write_text(_step_off(sources.manifest_path.read_text()))
    made = Archive.init(base / "made", durable=False, include_restricted=True)
    ingest(off_path, made, user="pytest")
    originals = made.read(RESTRICTED)
    site_json = parse_manifest(old_toml, off_path).to_json_dict()

    old = Archive.init(base / "old", durable=False)
    for entry in made.log(SITE):
        version = made.read(SITE, entry.number)
        with old.writer(SITE, message=entry.message, user="old-ingest") as w:
            for lp in w.paths():
                w.remove(lp)
            for lp, path in version.files.items():
                if lp == "site.toml":
                    w.add_bytes(lp, old_toml)
                elif lp == "site.json":
                    w.add_json(lp, site_json)
                elif lp.endswith("/epoch.json"):
                    record = json.loads(path.read_bytes())
                    record["statistics"].pop("privacy", None)
                    w.add_json(lp, record)
                else:
                    w.add_file(lp, path)
            epochs = {lp.split("/")[1] for lp in version.files if lp.startswith("epochs/")}
            for lp, path in originals.files.items():
                if lp.split("/")[1] in epochs and "/source/" in lp:
                    w.add_file(lp, path)
    assert not old.exists(RESTRICTED) and not (old.ocfl_root / RESTRICTED).exists()
    return sources, old


def _copy(old: Archive, dest: Path) -> Archive:
    shutil.copytree(old.root, dest, symlinks=True)
    return Archive.open(dest, durable=False, include_restricted=True)


def _inventories(archive: Archive) -> dict[str, bytes]:
    return {p.name: (p / "inventory.json").read_bytes() for p in archive.ocfl_root.iterdir()
            if (p / "inventory.json").exists()}


def _valid(archive: Archive) -> None:
    for obj in archive.ocfl_root.iterdir():
        if (obj / "inventory.json").exists():
            v = Validator(check_digests=True)
            assert v.validate_object(str(obj)), v.status_str()
    assert archive.verify().ok


# a fresh interpreter: a forked child of a process that ran OpenCV's and Open3D's thread pools
# can hang in them
CHILD = """
import sys, time
from pathlib import Path
from archive import Archive, fsops
from processing.privacy.migrate import migrate

root = Path(sys.argv[1])

def hook(stage):
    if stage == "rewrite-before-swap":
        (root.parent / "PAUSED").touch()
        time.sleep(600)

fsops.STAGE_HOOK = hook
migrate(Archive.open(root, durable=False, include_restricted=True), sys.argv[2], user="child")
"""


def test_migrate_moves_originals_and_rederives(pre_privacy, tmp_path):
    sources, old = pre_privacy
    archive = _copy(old, tmp_path / "a" / "archive")
    before = _inventories(archive)
    originals = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name
                 for e in sources.sources
                 for p in (*sources.sources[e], *sources.companions.get(e, ()))}

    with pytest.raises(RestrictedMaterial):
        migrate(Archive.open(archive.root), SITE)
    plan = migrate(archive, SITE, dry_run=True)
    assert _inventories(archive) == before
    assert plan.rederive == ["2021-09-01", "2024-05-20"]       # airborne: step off by default
    copied = {lp for files in plan.originals.values() for lp, _digest in files}
    assert copied == {f"epochs/{e}/source/{p.name}" for e in sources.sources
                      for p in (*sources.sources[e], *sources.companions.get(e, ()))}
    assert plan.history is not None and any("/source/" in f for f in plan.history.files)

    # killed just before the rebuilt public object is swapped in: the old history is intact
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(archive.root), SITE], env=env)
    try:
        while not (archive.root.parent / "PAUSED").exists():
            assert child.poll() is None, "the migration ended before its last swap"
            time.sleep(0.2)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    kept = Archive.open(archive.root, include_restricted=True)
    first = kept.read(SITE, 1)
    assert kept.read(SITE).head > old.read(SITE).head               # re-derived, committed
    assert json.loads((kept.object_path(SITE) / "inventory.json").read_bytes())["versions"][
        "v1"] == json.loads(before[SITE])["versions"]["v1"]           # history not rewritten
    assert any("/source/" in lp for lp in first.files)
    _valid(kept)

    # the next run finishes the job
    migrate(kept, SITE, user="archivist")
    _valid(kept)
    head = kept.read(SITE)
    for n in range(1, head.head + 1):
        version = kept.read(SITE, n)
        assert not any("/source/" in lp for lp in version.files), n
        assert check_textures(version) == {}, n
    public_blobs = {hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in kept.object_path(SITE).rglob("*") if p.is_file()}
    assert not public_blobs & set(originals)
    restricted = kept.read(RESTRICTED)
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for lp, p in restricted.files.items()
            if "/source/" in lp} == set(originals)
    truth = json.loads(sources.truth_path.read_text())
    for t in (Transient.from_dict(d) for d in truth["transients"]):
        if t.epoch == "2021-09-01":
            xyz = read_laz_site(head.path(f"epochs/{t.epoch}/points.laz"), sources.origin).xyz
            assert int(t.contains(xyz).sum()) == 0, t
    for e in plan.rederive:
        assert head.read_json(f"epochs/{e}/epoch.json")["statistics"]["privacy"]["enabled"]
    record = head.read_json(MIGRATIONS)["migrations"]
    assert len(record) == 1 and record[0]["rederived"] == plan.rederive
    assert set(record[0]["originals"]) == copied

    # a second run changes nothing
    done = _inventories(kept)
    assert migrate(kept, SITE).empty
    assert _inventories(kept) == done


def test_migrate_refuses_what_it_cannot_do(pre_privacy, tmp_path):
    from viewer.cli import main

    _sources, old = pre_privacy
    archive = _copy(old, tmp_path / "archive")
    with archive.writer(SITE, message="lose a source", user="t") as w:
        lost = next(lp for lp in w.paths() if lp.startswith("epochs/2021-09-01/source/")
                    and lp.endswith(".laz"))
        w.remove(lost)
    before = _inventories(archive)
    with pytest.raises(MigrationRefused, match=f"source {Path(lost).name} is in neither"):
        migrate(archive, SITE)
    assert _inventories(archive) == before
    args = ["--archive", str(archive.root)]
    assert main(["privacy", "migrate", SITE, *args]) == 3
    assert main(["privacy", "migrate", SITE, "--restricted", *args]) != 0
    assert _inventories(archive) == before
