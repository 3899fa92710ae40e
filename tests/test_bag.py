"""Sharing a site as a BagIt bag: real bags (bagit), real OCFL objects (ocfl-py), real archives.

Every refusal is checked with the receiving archive byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import bagit
import numpy as np
import pytest
from conftest import copy_archive
from test_archive import snapshot

from archive import Archive
from archive.bag import (
    FORMAT_VERSION,
    BagError,
    BagRefused,
    HistoryConflict,
    export_bag,
    import_bag,
    rfc8493_names,
)
from archive.restricted import RestrictedSite
from processing.gltf import write_glb
from processing.lazio import write_laz
from processing.types import Mesh, PointCloud

SITE = "gasometer-demo"
FIRST = "2019-06-15"


def object_files(obj: Path) -> dict[str, bytes]:
    return {str(p.relative_to(obj)): p.read_bytes() for p in sorted(obj.rglob("*")) if p.is_file()}


def small_site(archive: Archive, demo_archive: Archive, site: str, seed: int) -> None:
    """A two-version site of real, small products (LAZ, GLB, JSON) under the demo's manifest."""
    rng = np.random.default_rng(seed)
    head = demo_archive.read(SITE)
    manifest = head.read_json("site.json")
    manifest["id"] = site
    work = archive.root.parent / f"src-{site}"
    work.mkdir()
    n = int(rng.integers(200, 400))
    cloud = PointCloud(xyz=rng.normal(0, 5, (n, 3)), frame="site")
    write_laz(cloud, work / "points.laz", manifest["origin"], manifest["crs"])
    write_laz(cloud.subset(np.arange(n // 2)), work / "source.laz", manifest["origin"],
              manifest["crs"])
    verts = rng.normal(0, 3, (30, 3)).astype(np.float32)
    faces = np.array([rng.permutation(30)[:3] for _ in range(20)], dtype=np.int64)
    write_glb(Mesh(vertices=verts, faces=faces), work / "lod0.glb")
    with archive.writer(site, message="first", user="pytest") as w:
        w.add_json("site.json", manifest)
        w.add_file(f"epochs/{FIRST}/points.laz", work / "points.laz")
        w.add_file(f"epochs/{FIRST}/source/März 2019.laz", work / "source.laz")
    with archive.writer(site, message="mesh", user="pytest") as w:
        w.add_file(f"epochs/{FIRST}/mesh/lod0.glb", work / "lod0.glb")
        w.add_json(f"epochs/{FIRST}/epoch.json", {"seed": seed})


@pytest.fixture(scope="module")
def demo(demo_site):
    return demo_site[1]


@pytest.fixture(scope="module")
def full_bag(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("bags") / "full"
    report = export_bag(demo, SITE, out, organization="Stadt Oberhausen",
                        contact_name="Archiv", contact_email="archiv@example.org")
    return out, report


@pytest.fixture(scope="module")
def small(demo, tmp_path_factory):
    """An archive holding a small site, and its bag (copied per test before tampering)."""
    base = tmp_path_factory.mktemp("small")
    archive = Archive.init(base / "archive", durable=False)
    small_site(archive, demo, "kleine-seite", seed=3)
    export_bag(archive, "kleine-seite", base / "bag")
    return archive, base / "bag"


def test_export_is_a_valid_bagit_bag_holding_the_object_unchanged(demo, full_bag):
    out, report = full_bag
    bag = bagit.Bag(str(out))
    assert bag.is_valid()
    assert bag.algorithms == ["sha512"]
    assert (out / "bagit.txt").read_text().startswith("BagIt-Version: 1.0")
    info = bag.info
    assert info["Source-Organization"] == "Stadt Oberhausen"
    assert info["Contact-Name"] == "Archiv" and info["Contact-Email"] == "archiv@example.org"
    assert info["Stadtzeit-Format-Version"] == FORMAT_VERSION
    assert info["Stadtzeit-Licence"] == "CC0-1.0"
    assert info["Stadtzeit-Attribution"] == "stadtzeit demo data (synthetic)"
    assert "Bagging-Date" in info and SITE in info["External-Description"]
    assert report.versions == [1, 2, 3]
    assert object_files(out / "data" / SITE) == object_files(demo.object_path(SITE))


def test_round_trip_gives_byte_identical_inventories_and_the_same_comparison(
        demo, full_bag, tmp_path):
    from processing.compare import compare
    out, _ = full_bag
    target = Archive.init(tmp_path / "other", durable=False)
    report = import_bag(target, out)
    assert report.created and report.added == [1, 2, 3] and report.head == 3
    ours, theirs = demo.object_path(SITE), target.object_path(SITE)
    for inv in ["inventory.json", "inventory.json.sha512"] + [
            f"v{n}/inventory.json" for n in (1, 2, 3)]:
        assert (theirs / inv).read_bytes() == (ours / inv).read_bytes(), inv
    assert object_files(theirs) == object_files(ours)
    assert target.verify(SITE).ok
    assert [v.message for v in target.log(SITE)] == [v.message for v in demo.log(SITE)]
    a = compare(demo, SITE, FIRST, "2021-09-01", method="c2c", store=False)
    b = compare(target, SITE, FIRST, "2021-09-01", method="c2c", store=False)
    for key in ("parameters", "statistics", "histogram", "regions", "volumes"):
        assert json.dumps(a.summary[key], sort_keys=True) == json.dumps(b.summary[key],
                                                                        sort_keys=True), key


def test_version_export_is_that_state_alone(demo, tmp_path):
    out = tmp_path / "v2"
    report = export_bag(demo, SITE, out, version=2)
    assert report.versions == [2] and bagit.Bag(str(out)).is_valid()
    target = Archive.init(tmp_path / "other", durable=False)
    import_bag(target, out)
    head, original = target.read(SITE), demo.read(SITE, 2)
    assert head.number == 1 and head.digests == original.digests
    assert head.message == original.message and head.user == original.user
    assert head.created == original.created


def test_an_existing_site_gets_only_the_newer_versions(demo, full_bag, tmp_path):
    out, _ = full_bag
    # Archive B received the site (v1-v3); archive A then added v4, and sends it again.
    b = Archive.init(tmp_path / "b", durable=False)
    import_bag(b, out)
    a = copy_archive(demo, tmp_path / "a")
    with a.writer(SITE, message="viewpoints", user="pytest") as w:
        w.add_json("viewer/viewpoints.json", {"views": []})
    export_bag(a, SITE, tmp_path / "bag4")
    before = {p: b.object_path(SITE).joinpath(p).stat().st_ino
              for p in ("v1/inventory.json", "v3/inventory.json")}
    report = import_bag(b, tmp_path / "bag4")
    assert report.added == [4] and not report.created and report.head == 4
    assert object_files(b.object_path(SITE)) == object_files(a.object_path(SITE))
    assert b.verify(SITE).ok
    assert [v.number for v in b.log(SITE)] == [1, 2, 3, 4]
    for p, ino in before.items():  # the old versions were kept, not rewritten
        assert b.object_path(SITE).joinpath(p).stat().st_ino == ino
    # The same bag again, or the older one: nothing to add, nothing written.
    snap = snapshot(b.root)
    assert import_bag(b, tmp_path / "bag4").unchanged
    assert import_bag(b, out).unchanged
    assert snapshot(b.root) == snap


def test_diverging_histories_are_refused_naming_both_heads(demo, tmp_path):
    a1 = copy_archive(demo, tmp_path / "a1")
    a2 = copy_archive(demo, tmp_path / "a2")
    with a1.writer(SITE, message="edit in Oberhausen", user="pytest") as w:
        w.add_json("viewer/viewpoints.json", {"views": [1]})
    with a2.writer(SITE, message="edit in Bottrop", user="pytest") as w:
        w.add_json("viewer/viewpoints.json", {"views": [2]})
    export_bag(a2, SITE, tmp_path / "bag")
    snap = snapshot(a1.root)
    with pytest.raises(HistoryConflict) as err:
        import_bag(a1, tmp_path / "bag")
    msg = str(err.value)
    assert f"{SITE}@v4" in msg and "edit in Oberhausen" in msg and "edit in Bottrop" in msg
    assert "from v4" in msg
    assert snapshot(a1.root) == snap


def test_a_restricted_object_is_never_exported(demo, tmp_path):
    archive = Archive.init(tmp_path / "archive", durable=False)
    small_site(archive, demo, "kleine-seite--restricted", seed=5)
    with pytest.raises(RestrictedSite, match="never exported.*'kleine-seite'"):
        export_bag(archive, "kleine-seite--restricted", tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_names_that_ocfl_quotes_round_trip_as_bagit_1_0_says(small, tmp_path):
    source, bag = small
    manifest = (bag / "manifest-sha512.txt").read_text(encoding="utf-8")
    assert "M%25C3%25A4rz%25202019.laz" in manifest  # '%' itself encoded (RFC 8493, 2.1.3)
    target = Archive.init(tmp_path / "t", durable=False)
    import_bag(target, bag)
    obj = target.object_path("kleine-seite")
    assert object_files(obj) == object_files(source.object_path("kleine-seite"))
    assert target.read("kleine-seite").exists(f"epochs/{FIRST}/source/März 2019.laz")


def test_export_refuses_an_existing_output(small, tmp_path):
    archive, _ = small
    (tmp_path / "out").mkdir()
    with pytest.raises(BagError, match="already exists"):
        export_bag(archive, "kleine-seite", tmp_path / "out")


# -- refusals: each hostile or damaged bag leaves the receiving archive byte-identical --------

def _content(bag: Path) -> Path:
    return next(bag.glob("data/kleine-seite/v1/content/epochs/*/points.laz"))


def _flip(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(bytes(raw))


def _resave(bag: Path, **info: str) -> None:
    """Change the payload or bag-info and make the bag's own manifests agree again."""
    b = bagit.Bag(str(bag))
    b.info.update(info)
    b.save(manifests=True)


def flipped_byte(bag):
    _flip(_content(bag))
    return "points.laz"


def missing_file(bag):
    _content(bag).unlink()
    return "points.laz"


def extra_file(bag):
    (bag / "data" / "kleine-seite" / "v1" / "content" / "notes.txt").write_text("hi")
    return "notes.txt"


def symlink_file(bag):
    target = _content(bag)
    target.unlink()
    target.symlink_to("/etc/passwd")
    return "points.laz"


def symlink_folder(bag):
    (bag / "data" / "kleine-seite" / "v3").symlink_to("/etc")
    return "v3"


def climbing_path(bag):
    with open(bag / "manifest-sha512.txt", "a") as fh:
        fh.write("0" * 128 + "  data/../../../etc/passwd\n")
    return "etc/passwd"


def fetch_list(bag):
    (bag / "fetch.txt").write_text("https://example.org/x 10 data/x\n")
    return "fetch.txt"


def huge_manifest(bag):
    with open(bag / "manifest-sha512.txt", "a") as fh:
        fh.write("# " + "x" * 60_000 + "\n")
    return "manifest-sha512.txt"


def many_files(bag):
    for i in range(45):
        (bag / "data" / f"f{i}").write_bytes(b"")
    return "more than 40 files"


def no_bagit_txt(bag):
    (bag / "bagit.txt").unlink()
    return "bagit.txt"


def tampered_inventory(bag):
    inv = bag / "data" / "kleine-seite" / "inventory.json"
    inv.write_text(inv.read_text().replace('"first"', '"rewritten"'))
    _resave(bag)  # the bag is consistent again; the OCFL sidecar is not
    return "data/kleine-seite"


def wrong_format(bag):
    _resave(bag, **{"Stadtzeit-Format-Version": "99"})
    return "bag-info.txt"


def two_objects(bag):
    shutil.copytree(bag / "data" / "kleine-seite", bag / "data" / "zweite")
    _resave(bag)
    return "data/"


CASES = [flipped_byte, missing_file, extra_file, symlink_file, symlink_folder, climbing_path,
         fetch_list, huge_manifest, many_files, no_bagit_txt, tampered_inventory, wrong_format,
         two_objects]


@pytest.mark.parametrize("with_site", [False, True], ids=["empty-archive", "site-exists"])
@pytest.mark.parametrize("damage", CASES, ids=[c.__name__ for c in CASES])
def test_a_bad_bag_is_refused_naming_the_file_with_nothing_written(small, tmp_path, damage,
                                                                    with_site):
    source, bag0 = small
    bag = tmp_path / "bag"
    shutil.copytree(bag0, bag)
    named = damage(bag)
    target = Archive.init(tmp_path / "archive", durable=False)
    if with_site:  # holding v1 only: a good bag would append v2
        export_bag(source, "kleine-seite", tmp_path / "v1bag", version=1)
        import_bag(target, tmp_path / "v1bag")
    snap = snapshot(target.root)
    with pytest.raises(BagRefused) as err:
        import_bag(target, bag, max_files=40)
    assert named in str(err.value)
    assert str(bag) in str(err.value)
    assert snapshot(target.root) == snap


def test_the_cli_exports_and_imports(small, tmp_path):
    from viewer.cli import main
    source, _ = small
    out = tmp_path / "bag"
    assert main(["archive", "export", "kleine-seite", "--bag", str(out), "--version", "v1",
                 "--archive", str(source.root)]) == 0
    with rfc8493_names():  # the small site has a file name OCFL stores %-quoted
        assert bagit.Bag(str(out)).is_valid()
    assert main(["archive", "init", "--archive", str(tmp_path / "t")]) == 0
    assert main(["archive", "import", str(out), "--archive", str(tmp_path / "t")]) == 0
    assert Archive.open(tmp_path / "t").read("kleine-seite").number == 1
    os.chmod(out / "bagit.txt", 0o644)
    (out / "bagit.txt").unlink()
    assert main(["archive", "import", str(out), "--archive", str(tmp_path / "t")]) == 1


# -- an import killed at any stage leaves the previous state, and the next import finishes ----

def _import_child(conn, root: Path, bag: Path, pause_at: str, exchange: bool) -> None:
    import time

    from archive import fsops
    fsops.EXCHANGE_ENABLED = exchange

    def hook(stage: str) -> None:
        if stage == pause_at:
            conn.send("PAUSED")
            time.sleep(120)

    fsops.STAGE_HOOK = hook
    import_bag(Archive.open(root, durable=False), bag)
    conn.send("DONE")


@pytest.mark.parametrize("with_site", [False, True], ids=["new-site", "append"])
@pytest.mark.parametrize("stage, exchange", [("written", True), ("before-swap", True),
                                             ("before-swap", False), ("moved-aside", False),
                                             ("swapped", True)])
def test_an_import_killed_at_any_stage_leaves_a_valid_archive(small, tmp_path, stage, exchange,
                                                              with_site):
    import multiprocessing
    import signal

    from archive._ocfl import Validator
    source, bag = small
    if stage == "moved-aside" and not with_site:
        pytest.skip("a new site is moved in with one rename; there is nothing to move aside")
    target = Archive.init(tmp_path / "archive", durable=False)
    if with_site:
        export_bag(source, "kleine-seite", tmp_path / "v1bag", version=1)
        import_bag(target, tmp_path / "v1bag")
    before = target.read("kleine-seite").digests if with_site else None
    parent, child = multiprocessing.get_context("fork").Pipe()
    proc = multiprocessing.get_context("fork").Process(
        target=_import_child, args=(child, target.root, bag, stage, exchange))
    proc.start()
    assert parent.poll(120) and parent.recv() == "PAUSED"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    again = Archive.open(target.root, durable=False)  # recovers what the child left
    if again.exists("kleine-seite"):
        validator = Validator(check_digests=True)
        assert validator.validate_object(str(again.object_path("kleine-seite"))), \
            validator.status_str()
        head = again.read("kleine-seite")
        after = source.read("kleine-seite").digests
        assert head.digests in ([before, after] if with_site else [after])
    else:
        assert not with_site and stage != "swapped"
    report = import_bag(again, bag)
    assert again.read("kleine-seite").digests == source.read("kleine-seite").digests
    assert report.head == 2
    assert not any((again.root / "staging").iterdir())
