"""The archive layer on real OCFL folders: versions, dedupe, reads, catalog, verify, bad input."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from archive import (
    Archive,
    ArchiveError,
    ArchiveExists,
    CorruptObject,
    FileNotInVersion,
    InvalidPath,
    NotAnArchive,
    SiteNotFound,
    SourceNotFound,
    VersionNotFound,
)
from archive._ocfl import Validator

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

SITE_JSON = {
    "id": "gasometer",
    "name": {"de": "Gasometer Oberhausen", "en": "Gasometer Oberhausen"},
    "epochs": [{"id": "2019-05-01", "capture": "airborne-lidar"},
               {"id": "2023-06-12", "capture": "terrestrial-lidar"}],
}


def snapshot(root: Path) -> dict[str, tuple]:
    """Relative path -> (mode, size, sha256) for files, (mode,) for folders."""
    snap: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            p = Path(dirpath, name)
            snap[str(p.relative_to(root))] = (os.lstat(p).st_mode,)
        for name in files:
            p = Path(dirpath, name)
            st = os.lstat(p)
            snap[str(p.relative_to(root))] = (st.st_mode, st.st_size,
                                              hashlib.sha256(p.read_bytes()).hexdigest())
    return snap


def valid(obj: Path) -> bool:
    validator = Validator(check_digests=True)
    ok = validator.validate_object(str(obj))
    assert ok, validator.status_str()
    return ok


def tamper(path: Path, data: bytes | None = None, flip_at: int | None = None) -> None:
    """Change a stored (read-only) file the way a failing disk or a careless user would."""
    os.chmod(path, 0o644)
    if flip_at is not None:
        raw = bytearray(path.read_bytes())
        raw[flip_at] ^= 0x01
        data = bytes(raw)
    path.write_bytes(data or b"")


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    # fsync guards against power loss only; test_archive_crash.py runs the durable path.
    return Archive.init(tmp_path / "archive", durable=False)


@pytest.fixture
def three_versions(archive: Archive) -> Archive:
    """gasometer v1 (manifest + points), v2 (+ mesh, site.json changed), v3 (mesh removed)."""
    with archive.writer("gasometer", message="ingest 2019-05-01", user="Alice",
                        address="mailto:alice@example.org") as w:
        w.add_json("site.json", SITE_JSON)
        w.add_bytes("epochs/2019-05-01/points.laz", b"points-2019" * 1000)
    with archive.writer("gasometer", message="ingest 2023-06-12", user="Bob") as w:
        w.add_json("site.json", {**SITE_JSON, "description": "v2"})
        w.add_bytes("epochs/2023-06-12/points.laz", b"points-2023" * 1000)
        w.add_bytes("epochs/2023-06-12/mesh/lod0.glb", b"glb" * 500)
        w.add_json("epochs/2023-06-12/epoch.json", {"capture": "terrestrial-lidar"})
    with archive.writer("gasometer", message="drop mesh", user="Carol") as w:
        w.remove_tree("epochs/2023-06-12/mesh")
    return archive


# -- creating and opening ------------------------------------------------------------------


def test_init_makes_the_documented_layout(tmp_path: Path) -> None:
    archive = Archive.init(tmp_path / "a")
    assert sorted(p.name for p in archive.root.iterdir()) == [
        "catalog.sqlite", "locks", "ocfl", "staging"]
    assert (archive.ocfl_root / "0=ocfl_1.1").is_file()
    layout = json.loads((archive.ocfl_root / "ocfl_layout.json").read_text())
    assert layout["extension"] == "0002-flat-direct-storage-layout"
    assert Archive.open(tmp_path / "a").sites() == []


def test_init_refuses_an_archive_or_a_non_empty_folder(tmp_path: Path) -> None:
    Archive.init(tmp_path / "a")
    with pytest.raises(ArchiveExists, match="already a stadtzeit archive"):
        Archive.init(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ArchiveExists, match="not empty"):
        Archive.init(tmp_path / "b")


def test_open_refuses_a_folder_that_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(NotAnArchive, match="stadtzeit archive init"):
        Archive.open(tmp_path)
    with pytest.raises(NotAnArchive, match="no such folder"):
        Archive.open(tmp_path / "missing")


# -- writing versions ----------------------------------------------------------------------


def test_versions_keep_message_user_and_time(three_versions: Archive) -> None:
    log = three_versions.log("gasometer")
    assert [(v.number, v.message, v.user) for v in log] == [
        (1, "ingest 2019-05-01", "Alice"), (2, "ingest 2023-06-12", "Bob"),
        (3, "drop mesh", "Carol")]
    assert log[0].address == "mailto:alice@example.org"
    assert all(v.created is not None and v.created.utcoffset().total_seconds() == 0 for v in log)
    head = three_versions.read("gasometer")
    assert (head.number, head.message, head.user) == (3, "drop mesh", "Carol")
    valid(three_versions.object_path("gasometer"))


def test_same_content_is_stored_once(archive: Archive) -> None:
    payload = os.urandom(100_000)
    with archive.writer("gasometer", message="v1", user="t") as w:
        w.add_bytes("a.bin", payload)
        w.add_bytes("copy/of/a.bin", payload)  # same content twice in one version
    with archive.writer("gasometer", message="v2", user="t") as w:
        w.add_bytes("b.bin", payload)  # and again in the next version
        w.add_bytes("new.bin", b"new")
    obj = archive.object_path("gasometer")
    stored = [p for p in obj.rglob("*") if p.is_file() and "content" in p.parts]
    assert sorted(p.relative_to(obj).as_posix() for p in stored) == [
        "v1/content/a.bin", "v2/content/new.bin"]
    head = archive.read("gasometer")
    assert head.path("b.bin") == head.path("a.bin") == head.path("copy/of/a.bin")
    valid(obj)


def test_unchanged_content_makes_no_version(three_versions: Archive) -> None:
    archive = three_versions
    before = snapshot(archive.root)
    head = archive.read("gasometer")
    with archive.writer("gasometer", message="re-ingest", user="t") as w:
        for logical, path in head.files.items():
            w.add_file(logical, path)  # same bytes again
    assert w.unchanged and w.version is None
    with archive.writer("gasometer", message="add and drop", user="t") as w:
        w.add_bytes("tmp.txt", b"x")
        w.remove("tmp.txt")
    assert w.unchanged
    assert snapshot(archive.root) == before
    with archive.writer("new-site", message="nothing", user="t") as w:
        pass
    assert w.unchanged and not archive.exists("new-site")


def test_old_versions_stay_readable_at_stable_paths(three_versions: Archive) -> None:
    archive = three_versions
    v1 = archive.read("gasometer@v1")
    v2 = archive.read("gasometer", 2)
    assert archive.read("gasometer", "v2").files == v2.files
    assert sorted(v1.files) == ["epochs/2019-05-01/points.laz", "site.json"]
    assert v1.read_json("site.json") == SITE_JSON
    assert v2.read_json("site.json")["description"] == "v2"
    assert v2.read_bytes("epochs/2023-06-12/mesh/lod0.glb") == b"glb" * 500
    assert not archive.read("gasometer").exists("epochs/2023-06-12/mesh/lod0.glb")
    for version in (v1, v2):
        for logical, path in version.files.items():
            assert path.is_relative_to(archive.object_path("gasometer"))
            assert hashlib.sha512(path.read_bytes()).hexdigest() == version.digest(logical)
    with archive.writer("gasometer", message="v4", user="t") as w:
        w.add_bytes("more.txt", b"more")
    # Paths handed out before a commit still name the same bytes after it.
    assert v1.read_json("site.json") == SITE_JSON
    assert archive.read("gasometer@v1").files == v1.files


def test_a_site_version_can_be_sent_to_another_process(three_versions: Archive) -> None:
    import pickle
    version = three_versions.read("gasometer@v2")
    assert pickle.loads(pickle.dumps(version)) == version


def test_remove_and_remove_tree(archive: Archive) -> None:
    with archive.writer("s", message="v1", user="t") as w:
        for name in ("a/1", "a/2", "a/b/3", "ab/4", "c"):
            w.add_bytes(name, name.encode())
    with archive.writer("s", message="v2", user="t") as w:
        assert w.remove_tree("a") == 3
        assert w.remove_tree("nothing/here") == 0
        with pytest.raises(FileNotInVersion, match="did you mean"):
            w.remove("cc")
        w.remove("c")
        assert w.paths() == ["ab/4"]
    assert sorted(archive.read("s").files) == ["ab/4"]


def test_a_file_and_a_folder_cannot_share_a_name(archive: Archive) -> None:
    with archive.writer("s", message="v1", user="t") as w:
        w.add_bytes("a/b", b"1")
        with pytest.raises(InvalidPath, match="is a folder"):
            w.add_bytes("a", b"2")
        with pytest.raises(InvalidPath, match="is a file"):
            w.add_bytes("a/b/c", b"3")
        w.remove("a/b")
        w.add_bytes("a", b"now a file")  # fine once the folder is gone
    assert archive.read("s").read_bytes("a") == b"now a file"
    valid(archive.object_path("s"))


def test_exception_in_block_discards_everything(three_versions: Archive) -> None:
    before = snapshot(three_versions.root)
    with pytest.raises(RuntimeError), three_versions.writer("gasometer", message="x") as w:
        w.add_bytes("big.bin", os.urandom(10_000))
        raise RuntimeError("processing failed")
    assert snapshot(three_versions.root) == before


def test_names_that_need_quoting_round_trip(archive: Archive) -> None:
    names = ["a b/ü #(1).txt", "%20literal", ".hidden", "epochs/2019-05-01/source/Scan (1).laz",
             "日本/東京.laz"]
    with archive.writer("s", message="v1", user="t") as w:
        for name in names:
            w.add_bytes(name, name.encode())
    version = archive.read("s")
    assert {lp: version.read_bytes(lp).decode() for lp in names} == {n: n for n in names}
    valid(archive.object_path("s"))


# -- reading -------------------------------------------------------------------------------


def test_unknown_site_or_version_lists_what_exists(three_versions: Archive) -> None:
    with pytest.raises(SiteNotFound, match="sites: gasometer"):
        three_versions.read("schloss")
    with pytest.raises(VersionNotFound, match=r"v1 … v3"):
        three_versions.read("gasometer@v7")
    with pytest.raises(SiteNotFound):
        three_versions.log("schloss")
    with pytest.raises(FileNotInVersion, match="site.json"):
        three_versions.read("gasometer").path("site.jsn")


@pytest.mark.parametrize("ref, expected", [
    ("gasometer", ("gasometer", None)), ("gasometer@v2", ("gasometer", 2)),
    ("gasometer@12", ("gasometer", 12)), ("gasometer@head", ("gasometer", None))])
def test_parse_ref(ref: str, expected: tuple) -> None:
    assert Archive.parse_ref(ref) == expected


@pytest.mark.parametrize("ref", ["gasometer@", "gasometer@v", "@v2", "gas@v0", "a/b@v1",
                                 "gasometer@v2@v3"])
def test_parse_ref_refuses_malformed(ref: str) -> None:
    with pytest.raises(ArchiveError):
        Archive.parse_ref(ref)


# -- catalog -------------------------------------------------------------------------------


def test_catalog_lists_sites_epochs_and_products(three_versions: Archive) -> None:
    archive = three_versions
    [site] = archive.sites()
    assert (site.id, site.name_de, site.head) == ("gasometer", "Gasometer Oberhausen", 3)
    assert site.epochs == ("2019-05-01", "2023-06-12")
    epochs = {e.id: e for e in archive.epochs("gasometer")}
    assert epochs["2019-05-01"].capture == "airborne-lidar" and not epochs["2019-05-01"].processed
    assert epochs["2023-06-12"].processed
    v2 = {p.path: p for p in archive.products("gasometer@v2")}
    assert v2["epochs/2023-06-12/mesh/lod0.glb"].size == 1500
    assert v2["site.json"].sha512 == archive.read("gasometer@v2").digest("site.json")
    assert "epochs/2023-06-12/mesh/lod0.glb" not in {p.path for p in archive.products("gasometer")}


def test_reindex_from_a_deleted_catalog_gives_the_same_listing(three_versions: Archive) -> None:
    archive = three_versions
    with archive.writer("schloss", message="v1", user="t") as w:
        w.add_json("site.json", {"name": {"de": "Schloss", "en": "Castle"}})
    listing = (archive.sites(), archive.log("gasometer"), archive.products("gasometer@v2"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{archive.catalog_path}{suffix}").unlink(missing_ok=True)
    reopened = Archive.open(archive.root)
    assert (reopened.sites(), reopened.log("gasometer"),
            reopened.products("gasometer@v2")) == listing
    assert reopened.reindex() == 2
    assert reopened.sites() == listing[0]
    with sqlite3.connect(archive.catalog_path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT count(*) FROM versions").fetchone()[0] == 4


def test_catalog_behind_an_object_catches_up_by_itself(three_versions: Archive,
                                                       tmp_path: Path) -> None:
    archive = three_versions
    archive.sites()
    old = tmp_path / "old-catalog.sqlite"
    shutil.copy(archive.catalog_path, old)
    with archive.writer("gasometer", message="v4", user="t") as w:
        w.add_bytes("x", b"x")
    shutil.copy(old, archive.catalog_path)  # as if the catalog update had been lost
    assert [s.head for s in Archive.open(archive.root).sites()] == [4]
    assert Archive.open(archive.root).log("gasometer")[-1].message == "v4"


def test_damaged_catalog_is_rebuilt(three_versions: Archive) -> None:
    three_versions.catalog_path.write_bytes(b"this is not sqlite" * 100)
    assert [s.id for s in Archive.open(three_versions.root).sites()] == ["gasometer"]


# -- verify --------------------------------------------------------------------------------


def test_verify_passes_a_healthy_archive(three_versions: Archive) -> None:
    seen = []
    report = three_versions.verify(progress=lambda done, total, label: seen.append(done))
    assert report.ok, str(report)
    assert report.files == 6 and report.sites == ["gasometer"]
    assert seen and seen[-1] == max(seen)


def _damage(archive: Archive, kind: str) -> str:
    obj = archive.object_path("gasometer")
    if kind == "flipped byte":
        tamper(obj / "v1/content/epochs/2019-05-01/points.laz", flip_at=1234)
        return "v1/content/epochs/2019-05-01/points.laz"
    if kind == "missing file":
        (obj / "v2/content/epochs/2023-06-12/mesh/lod0.glb").unlink()
        return "v2/content/epochs/2023-06-12/mesh/lod0.glb"
    if kind == "extra file":
        (obj / "v2/content/epochs/notes.txt").write_text("smuggled in")
        return "v2/content/epochs/notes.txt"
    if kind == "tampered inventory":
        inventory = json.loads((obj / "inventory.json").read_text())
        inventory["versions"]["v1"]["message"] = "rewritten history"
        tamper(obj / "inventory.json", json.dumps(inventory, indent=2).encode())
        return "inventory.json"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, words", [
    ("flipped byte", ["content changed", "expected sha512", "actual",
                      "epochs/2019-05-01/points.laz in v1, v2, v3"]),
    ("missing file", ["content file missing", "epochs/2023-06-12/mesh/lod0.glb in v2"]),
    ("extra file", ["extra file"]),
    ("tampered inventory", ["inventory was changed", "inventory.json.sha512"]),
])
def test_verify_names_each_kind_of_damage(three_versions: Archive, kind: str,
                                          words: list[str]) -> None:
    path = _damage(three_versions, kind)
    report = three_versions.verify("gasometer")
    assert not report.ok
    named = [p for p in report.problems if p.path == path]
    assert named, str(report)
    site, _, message = named[0]
    assert site == "gasometer"
    for word in words:
        assert word in message, message


def test_verify_with_a_broken_root_inventory_still_checks_content(
        three_versions: Archive) -> None:
    obj = three_versions.object_path("gasometer")
    tamper(obj / "inventory.json", b"{ not json")
    tamper(obj / "v1/content/site.json", flip_at=3)
    report = three_versions.verify("gasometer")
    paths = {p.path: p.message for p in report.problems}
    assert "unreadable" in paths["inventory.json"]
    assert "content changed" in paths["v1/content/site.json"]  # via v3/inventory.json
    with pytest.raises(CorruptObject, match="verify gasometer"):
        three_versions.read("gasometer")


def test_verify_reports_ocfl_validator_findings_too(three_versions: Archive) -> None:
    obj = three_versions.object_path("gasometer")
    (obj / "stray-folder").mkdir()
    (obj / "stray-folder" / "x").write_text("x")
    report = three_versions.verify()
    assert any(p.path == "stray-folder/x" for p in report.problems)
    assert any("E001b" in p.message for p in report.problems), str(report)


# -- ocfl-py agrees ------------------------------------------------------------------------


def test_objects_are_valid_for_ocfl_py_and_its_command_line_tool(three_versions: Archive) -> None:
    obj = three_versions.object_path("gasometer")
    assert valid(obj)
    tool = VENV_BIN / "ocfl-validate.py"
    if not tool.exists():
        pytest.skip(f"{tool} is not installed")
    out = subprocess.run([str(tool), str(obj)], capture_output=True, text=True)
    assert out.returncode == 0 and "is VALID" in out.stdout + out.stderr, out.stdout + out.stderr
    root = subprocess.run([str(tool), str(three_versions.ocfl_root)], capture_output=True,
                          text=True)
    assert root.returncode == 0, root.stdout + root.stderr


# -- bad input leaves the archive as it was ------------------------------------------------


@pytest.mark.parametrize("logical", [
    "../escape", "/etc/passwd", "a/../../b", "a//b", "a/./b", "", "a/", "a\\b", "nul\x00byte",
    "line\nbreak", "del\x7f", "bad-\udcff-utf8", b"bytes/path", "x" * 300, "ü" * 100,
    "a/CON.txt", "a/what?.txt", "trailing./x", " padded"])
def test_unsafe_logical_paths_are_refused(three_versions: Archive, logical: object) -> None:
    before = snapshot(three_versions.root)
    with pytest.raises(InvalidPath), three_versions.writer("gasometer", message="bad") as w:
        w.add_bytes("fine.txt", b"staged before the bad one")
        w.add_bytes(logical, b"x")  # type: ignore[arg-type]
    assert snapshot(three_versions.root) == before


@pytest.mark.parametrize("site", ["../x", "a/b", "", ".hidden", "with space", "a@v2", "ü"])
def test_unsafe_site_ids_are_refused(archive: Archive, site: str) -> None:
    before = snapshot(archive.root)
    with pytest.raises(InvalidPath, match="site id"):
        archive.writer(site, message="x")
    assert snapshot(archive.root) == before


def test_missing_source_file_is_refused(three_versions: Archive, tmp_path: Path) -> None:
    before = snapshot(three_versions.root)
    with pytest.raises(SourceNotFound, match="no such file"), \
            three_versions.writer("gasometer", message="x") as w:
        w.add_file("epochs/2023-06-12/source/scan.laz", tmp_path / "nope.laz")
    with pytest.raises(SourceNotFound, match="folder"), \
            three_versions.writer("gasometer", message="x") as w:
        w.add_file("epochs/2023-06-12/source/scan.laz", tmp_path)
    with pytest.raises(ArchiveError, match="JSON"), \
            three_versions.writer("gasometer", message="x") as w:
        w.add_json("bad.json", {"value": float("nan")})
    assert snapshot(three_versions.root) == before


CHILD_WRITE = """
import json, sys
from archive import Archive, ArchiveError
archive = Archive.open(sys.argv[1])
result = {"sites": {s.id: s.head for s in archive.sites()},
          "head": archive.read("gasometer").number}
try:
    with archive.writer("gasometer", message="try", user="child") as w:
        w.add_file("big.bin", sys.argv[2])
    result["error"] = None
except ArchiveError as exc:
    result["error"] = [type(exc).__name__, str(exc)]
print(json.dumps(result))
"""


def run_without_root_powers(code: str, *args: object) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child that obeys file permissions even when the tests run as root."""
    command = [sys.executable, "-c", code, *map(str, args)]
    if os.geteuid() == 0:  # root ignores permissions: drop the capabilities that allow it
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner",
                   "--", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def _two_sites_with_catalog_behind(root: Path) -> Archive:
    archive = Archive.init(root, durable=False)
    for site in ("gasometer", "schloss"):
        with archive.writer(site, message="v1", user="t") as w:
            w.add_json("site.json", SITE_JSON)
    archive.sites()
    up_to_v1 = archive.catalog_path.read_bytes()
    with archive.writer("gasometer", message="v2", user="t") as w:
        w.add_bytes("new.txt", b"new")
    archive.catalog_path.write_bytes(up_to_v1)  # the catalog is behind for one site only
    return archive


def test_read_only_archive_reads_but_refuses_writes_unchanged(tmp_path: Path) -> None:
    archive = _two_sites_with_catalog_behind(tmp_path / "archive")
    src = tmp_path / "new.bin"
    src.write_bytes(b"new content")
    subprocess.run(["chmod", "-R", "a-w", str(archive.root)], check=True)
    try:
        before = snapshot(archive.root)
        out = run_without_root_powers(CHILD_WRITE, archive.root, src)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        # The catalog cannot be updated in place: listings are indexed in memory instead.
        assert result["sites"] == {"gasometer": 2, "schloss": 1} and result["head"] == 2
        kind, message = result["error"]
        assert kind == "ArchiveReadOnly"
        assert "not writable" in message and "unchanged" in message
        assert snapshot(archive.root) == before
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(archive.root)], check=False)


def test_read_only_catalog_file_still_gives_full_listings(tmp_path: Path) -> None:
    archive = _two_sites_with_catalog_behind(tmp_path / "archive")
    os.chmod(archive.catalog_path, 0o444)
    out = run_without_root_powers(CHILD_WRITE, archive.root, tmp_path / "missing.bin")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["sites"] == {"gasometer": 2, "schloss": 1}


def _write_with_file_size_limit(conn: Connection, root: Path, src: Path) -> None:
    """In a forked child: a 1 MiB file size limit makes the 'disk' full for this process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    try:
        with Archive.open(root).writer("gasometer", message="too big", user="child") as w:
            w.add_file("big.bin", src)
        conn.send(None)
    except ArchiveError as exc:
        conn.send((type(exc).__name__, str(exc)))


def test_write_failure_part_way_leaves_archive_unchanged(three_versions: Archive,
                                                         tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 << 20))
    before = snapshot(three_versions.root)
    conn, child_conn = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=_write_with_file_size_limit, args=(child_conn, three_versions.root, src))
    child.start()
    assert conn.poll(60), "the child did not answer"
    kind, message = conn.recv()
    child.join(30)
    assert kind == "ArchiveWriteError" and "File too large" in message
    assert "unchanged" in message
    assert snapshot(three_versions.root) == before


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root): "
                    + mounted.stderr.decode().strip())
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_during_commit_leaves_archive_unchanged(tiny_disk: Path) -> None:
    archive = Archive.init(tiny_disk / "archive")
    with archive.writer("gasometer", message="v1", user="t") as w:
        w.add_json("site.json", SITE_JSON)
    before = snapshot(archive.root)
    # Staging 2 x 1.3 MB fits on the 4 MB disk; writing them into the object as well does not.
    with pytest.raises(ArchiveError, match="disk .* is full") as exc, \
            archive.writer("gasometer", message="too big", user="t") as w:
        w.add_bytes("a.bin", os.urandom(1_300_000))
        w.add_bytes("b.bin", os.urandom(1_300_000))
    assert "unchanged" in str(exc.value)
    assert snapshot(archive.root) == before
    valid(archive.object_path("gasometer"))
    with archive.writer("gasometer", message="fits", user="t") as w:
        w.add_bytes("small.bin", b"small")
    assert w.version == 2
