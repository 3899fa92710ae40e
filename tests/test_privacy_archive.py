"""The restricted part of the archive: kept apart, closed by file permissions, refused to
public readers, readable by archivists; and erasure of epochs from the whole history."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from archive import Archive
from archive.restricted import RestrictedMaterial

ROOT = Path(__file__).resolve().parents[1]
E1, E2 = "2021-01-01", "2022-01-01"


def _make(root: Path) -> Archive:
    a = Archive.init(root, durable=False)
    for epoch in (E1, E2):
        with a.restricted_writer("hof", message=f"originals of epoch {epoch}", user="t") as r:
            r.add_bytes(f"epochs/{epoch}/source/scan.laz", f"RAW-{epoch}".encode())
            r.add_json(f"epochs/{epoch}/privacy/detections.json", {"boxes": {}})
        with a.writer("hof", message=f"ingest epoch {epoch}", user="t") as w:
            w.add_json("site.json", {"id": "hof"})
            w.add_bytes(f"epochs/{epoch}/points.laz", f"PUBLIC-{epoch}".encode())
            w.add_json(f"epochs/{epoch}/epoch.json", {"epoch": epoch})
    with a.writer("hof", message="compare", user="t") as w:
        w.add_json(f"changes/{E1}__{E2}/c2c-1/summary.json", {"n": 1})
    return a


@pytest.fixture
def small(tmp_path):
    return _make(tmp_path / "archive")


def test_restricted_object_is_listed_apart_and_refused(small):
    assert small.site_ids() == ["hof"]
    assert small.restricted_ids() == ["hof--restricted"]
    assert [s.id for s in small.sites()] == ["hof"]
    assert not any("source/" in p for p in small.read("hof").files)
    with pytest.raises(RestrictedMaterial, match="public programs") as err:
        small.read("hof--restricted")
    assert err.value.exit_code == 3
    with pytest.raises(RestrictedMaterial):
        small.log("hof--restricted")
    with pytest.raises(RestrictedMaterial):
        small.verify("hof--restricted")

    archivist = Archive.open(small.root, include_restricted=True)
    head = archivist.read("hof--restricted")
    assert head.path(f"epochs/{E1}/source/scan.laz").read_bytes() == f"RAW-{E1}".encode()
    assert [v.message for v in archivist.log("hof--restricted")] == [
        f"originals of epoch {E1}", f"originals of epoch {E2}"]
    report = archivist.verify()
    assert report.ok and report.sites == ["hof", "hof--restricted"]


def test_restricted_files_are_closed_to_others(small):
    obj = small.object_path("hof--restricted")
    for dirpath, _dirs, files in os.walk(obj):
        assert os.stat(dirpath).st_mode & 0o007 == 0, dirpath
        for name in files:
            assert os.stat(os.path.join(dirpath, name)).st_mode & 0o007 == 0, name
    staging = small.staging_dir / "hof--restricted"
    assert not staging.exists() or os.stat(staging).st_mode & 0o077 == 0
    public = small.read("hof").path(f"epochs/{E1}/points.laz")
    assert os.stat(public).st_mode & 0o004


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's group needs root (CI runs as "
                    "root)")
def test_restricted_group_applies_to_every_object(small):
    from archive.restricted import set_group

    assert set_group(Archive.open(small.root, include_restricted=True), "nogroup") == [
        "hof--restricted"]
    gid = int(subprocess.check_output(["getent", "group", "nogroup"], text=True).split(":")[2])
    for dirpath, _dirs, files in os.walk(small.object_path("hof--restricted")):
        assert all(os.stat(os.path.join(dirpath, f)).st_gid == gid for f in files)
    # a new version keeps the group
    with small.restricted_writer("hof", message="more", user="t") as r:
        r.add_bytes("epochs/x/source/b.laz", b"b")
    assert os.stat(small.object_path("hof--restricted") / "inventory.json").st_gid == gid


def _as(user: str) -> list[str]:
    import pwd

    return ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
            "--clear-groups"]


def _python_for(user: str) -> list[str] | None:
    """An interpreter ``user`` may run, with the project's packages on its path."""
    site = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for exe in (sys.executable, shutil.which(version) or "", f"/usr/bin/{version}"):
        if exe and subprocess.run([*_as(user), exe, "-c", "import numpy, ocfl"],
                                  env={"PYTHONPATH": f"{ROOT}:{site}"},
                                  capture_output=True).returncode == 0:
            return [exe]
    return None


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="running a program as another user needs root and setpriv")
def test_public_program_as_other_user_refuses_cleanly():
    user = "nobody"
    try:
        python = _python_for(user)
    except FileNotFoundError:
        python = None
    if python is None:
        pytest.skip(f"no Python interpreter that {user} may run has the project's packages")
    base = Path(tempfile.mkdtemp(prefix="stadtzeit-privacy-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        archive = _make(base / "archive")
        env = {"PYTHONPATH": f"{ROOT}:{sysconfig.get_paths()['purelib']}", "HOME": "/tmp",
               "LANG": "C.UTF-8"}

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([*_as(user), *python, *args], env=env, text=True,
                                  capture_output=True, cwd="/tmp", timeout=120)

        cli = ["-m", "viewer.cli"]
        ls = run(*cli, "archive", "show", "hof", "--archive", str(archive.root))
        assert ls.returncode == 0, ls.stderr
        assert "points.laz" in ls.stdout and "source" not in ls.stdout

        refused = run(*cli, "archive", "show", "hof--restricted", "--archive",
                      str(archive.root))
        assert refused.returncode == 3, refused.stderr
        assert "restricted" in refused.stderr and "Traceback" not in refused.stderr

        denied = run(*cli, "archive", "show", "hof--restricted", "--restricted", "--archive",
                     str(archive.root))
        assert denied.returncode == 3, denied.stderr
        assert "permission denied" in denied.stderr and "Traceback" not in denied.stderr

        # and the operating system, not only the API, keeps the files closed
        raw = next(p for p in archive.object_path("hof--restricted").rglob("scan.laz"))
        probe = run("-c", f"open({str(raw)!r}, 'rb').read()")
        assert probe.returncode != 0 and "PermissionError" in probe.stderr
        folder = str(archive.object_path("hof--restricted"))
        listing = run("-c", f"import os; os.listdir({folder!r})")
        assert "PermissionError" in listing.stderr
    finally:
        shutil.rmtree(base)


# --- erasure ----------------------------------------------------------------------------------


def _all_paths(archive: Archive, site: str) -> set[str]:
    head = archive.read(site)
    return {lp for n in range(1, head.head + 1) for lp in archive.read(site, n).files}


def test_erase_removes_epoch_from_every_version(small):
    from archive.erase import ERASURES, erase_epochs

    with pytest.raises(RestrictedMaterial):
        erase_epochs(small, "hof", [E1], reason="DSGVO-1")
    archivist = Archive.open(small.root, include_restricted=True)
    before = archivist.read("hof").head
    plans = erase_epochs(archivist, "hof", [E1], reason="DSGVO-1", dry_run=True)
    assert archivist.read("hof").head == before
    # v1 of hof keeps site.json; v3 (the change E1 -> E2) is all gone
    assert {p.object_id: p.versions_dropped for p in plans} == {"hof": [3],
                                                                "hof--restricted": [1]}
    erase_epochs(archivist, "hof", [E1], reason="DSGVO-1", user="archivist")

    for site in ("hof", "hof--restricted"):
        paths = _all_paths(archivist, site)
        assert not any(E1 in p for p in paths), site
        assert any(E2 in p for p in paths), site
        # the erased bytes are gone from the disk, not just from the head
        blobs = [p.read_bytes() for p in archivist.object_path(site).rglob("*") if p.is_file()]
        assert not any(f"RAW-{E1}".encode() in b or f"PUBLIC-{E1}".encode() in b for b in blobs)
        record = archivist.read(site).read_json(ERASURES)["erasures"][0]
        assert record["epochs"] == [E1] and record["reason"] == "DSGVO-1"
    log = archivist.log("hof")
    assert [v.message for v in log][:2] == [f"ingest epoch {E1} [erased: {E1}]",
                                            f"ingest epoch {E2} [erased: {E1}]"]
    assert log[-1].message.startswith("erasure of epoch(s) 2021-01-01")
    assert archivist.verify().ok
    with pytest.raises(Exception, match="holds no epoch"):
        erase_epochs(archivist, "hof", ["1999-01-01"], reason="x")


def test_erase_and_find_commands(small):
    from viewer.cli import main

    args = ["--archive", str(small.root)]
    assert main(["privacy", "erase", "hof", "--epoch", E1, "--reason", "R-1", *args]) == 3
    assert main(["privacy", "find", "hof", "--from", "2021-01-01", "--to", "2021-12-31",
                 "--restricted", *args]) == 0
    assert main(["privacy", "erase", "hof", "--epoch", E1, "--reason", "R-1", "--restricted",
                 *args]) == 0
    assert not any(E1 in p for p in _all_paths(small, "hof"))


def test_restricted_mode_bits_survive_new_versions(small):
    with small.restricted_writer("hof", message="again", user="t") as r:
        r.add_bytes("epochs/2023-01-01/source/c.laz", b"c")
    obj = small.object_path("hof--restricted")
    modes = {stat.S_IMODE(os.stat(p).st_mode) & 0o007 for p in obj.rglob("*")}
    assert modes == {0}
