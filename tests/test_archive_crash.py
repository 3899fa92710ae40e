"""A writer killed at any moment leaves the previous head intact and the object valid.

A child process commits a version (several MB, dozens of files) and is SIGKILLed either at a
named stage of the commit protocol (``archive.fsops.STAGE_HOOK`` makes it stop there) or after
a delay. The parent then checks the object with ocfl-py's validator, checks every file of the
head version, and commits again.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive import Archive, ArchiveLocked
from archive._ocfl import Validator

ROOT = Path(__file__).resolve().parents[1]

CHILD_COMMIT = """
import sys, time
from pathlib import Path
from archive import Archive, fsops
root, incoming, pause_at, mode = sys.argv[1:5]
if mode == "fallback":
    fsops.EXCHANGE_ENABLED = False

def hook(stage):
    if stage == pause_at:
        print("PAUSED", stage, flush=True)
        time.sleep(120)

fsops.STAGE_HOOK = hook
archive = Archive.open(root)
site = "newsite" if mode == "new-site" else "gasometer"
print("OPEN", flush=True)
with archive.writer(site, message="v2 from the child", user="child") as w:
    for path in sorted(Path(incoming).rglob("*")):
        if path.is_file():
            w.add_file(path.relative_to(incoming).as_posix(), path)
    if w.exists("epochs/2019-05-01/tiles/000.bin"):
        w.remove("epochs/2019-05-01/tiles/000.bin")
    print("STAGED", flush=True)
print("DONE", w.version, flush=True)
"""

CHILD_HOLD = """
import sys, time
from archive import Archive
archive = Archive.open(sys.argv[1])
with archive.writer("gasometer", message="held", user="holder") as w:
    w.add_bytes("held.txt", b"held")
    print("HOLDING", flush=True)
    time.sleep(float(sys.argv[2]))
print("DONE", w.version, flush=True)
"""


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def v1_files() -> dict[str, bytes]:
    rng = random.Random(1)
    files = {"site.json": b'{"id": "gasometer", "name": {"de": "Gasometer"}}\n',
             "epochs/2019-05-01/points.laz": rng.randbytes(3_000_000)}
    for i in range(25):
        files[f"epochs/2019-05-01/tiles/{i:03}.bin"] = rng.randbytes(10_000)
    return files


def v2_incoming() -> dict[str, bytes]:
    rng = random.Random(2)
    files = {"site.json": b'{"id": "gasometer", "name": {"de": "Gasometer", "en": "Gasometer"}}\n',
             "epochs/2023-06-12/points.laz": rng.randbytes(5_000_000),
             "epochs/2019-05-01/tiles/001.bin": v1_files()["epochs/2019-05-01/tiles/001.bin"]}
    for i in range(40):
        files[f"epochs/2023-06-12/tiles/{i:03}.bin"] = rng.randbytes(10_000)
    return files


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str], dict[str, str]]:
    archive = Archive.init(tmp_path / "archive")
    with archive.writer("gasometer", message="v1", user="parent") as w:
        for logical, data in v1_files().items():
            w.add_bytes(logical, data)
    incoming = tmp_path / "incoming"
    for logical, data in v2_incoming().items():
        (incoming / logical).parent.mkdir(parents=True, exist_ok=True)
        (incoming / logical).write_bytes(data)
    expected_v1 = {lp: sha512(d) for lp, d in v1_files().items()}
    expected_v2 = {**expected_v1, **{lp: sha512(d) for lp, d in v2_incoming().items()}}
    del expected_v2["epochs/2019-05-01/tiles/000.bin"]
    return archive.root, incoming, expected_v1, expected_v2


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(marker):
            return
    proc.wait()
    pytest.fail(f"child ended before {marker!r}: {proc.stderr.read() if proc.stderr else ''}")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def assert_recovered(root: Path, site: str, expected: dict[int, dict[str, str]]) -> int:
    """The object is valid, its head is one of ``expected`` with every file intact, and the
    next writer succeeds and leaves nothing behind. Returns the head found after the kill."""
    archive = Archive.open(root)  # puts back an object a fallback swap left aside
    obj = archive.object_path(site)
    if not expected:
        assert not os.path.lexists(obj), "a killed first version must leave no object"
        head_number = 0
    else:
        validator = Validator(check_digests=True)
        assert validator.validate_object(str(obj)), validator.status_str()
        head = archive.read(site)
        assert head.number in expected
        digests = {lp: sha512(p.read_bytes()) for lp, p in head.files.items()}
        assert digests == expected[head.number]
        head_number = head.number
    with archive.writer(site, message="after the kill", user="parent") as w:
        w.add_bytes("after.txt", b"written after the kill")
    assert w.version == head_number + 1
    assert Validator(check_digests=True).validate_object(str(obj))
    assert os.listdir(archive.staging_dir) == [] and os.listdir(archive.locks_dir) == []
    assert set(os.listdir(archive.ocfl_root)) == {
        "0=ocfl_1.1", "ocfl_layout.json", "gasometer", site}
    assert archive.verify().ok
    assert {s.id: s.head for s in archive.sites()}[site] == head_number + 1
    return head_number


@pytest.mark.parametrize("stage, mode, heads", [
    ("staged", "exchange", {1}),       # live object link-copied into staging
    ("written", "exchange", {1}),      # ocfl-py wrote v2 into the staged copy
    ("before-swap", "exchange", {1}),  # checked and fsynced, not yet swapped
    ("swapped", "exchange", {2}),      # swapped; old tree and catalog not yet tidied
    ("moved-aside", "fallback", {1}),  # two-rename fallback: no object at its path right now
    ("swapped", "fallback", {2}),
])
def test_kill_at_each_stage(setup: tuple, stage: str, mode: str, heads: set[int]) -> None:
    root, incoming, v1, v2 = setup
    proc = spawn(CHILD_COMMIT, root, incoming, stage, mode)
    wait_for(proc, "PAUSED")
    kill(proc)
    if stage == "moved-aside":
        assert not (root / "ocfl" / "gasometer").exists()  # the window the fallback has
    expected = {1: v1, 2: v2}
    assert assert_recovered(root, "gasometer", {h: expected[h] for h in heads}) in heads


def test_kill_while_creating_a_new_site(setup: tuple) -> None:
    root, incoming, _, _ = setup
    proc = spawn(CHILD_COMMIT, root, incoming, "before-swap", "new-site")
    wait_for(proc, "PAUSED")
    kill(proc)
    assert_recovered(root, "newsite", {})


@pytest.mark.parametrize("marker, delay", [
    ("OPEN", 0.01),     # while staging the new files
    ("STAGED", 0.0),    # the commit takes some 50-100 ms from here on an idle machine
    ("STAGED", 0.01),
    ("STAGED", 0.025),
    ("STAGED", 0.045),
])
def test_kill_at_arbitrary_moments(setup: tuple, marker: str, delay: float) -> None:
    root, incoming, v1, v2 = setup
    proc = spawn(CHILD_COMMIT, root, incoming, "", "exchange")
    wait_for(proc, marker)
    time.sleep(delay)
    kill(proc)
    assert_recovered(root, "gasometer", {1: v1, 2: v2})


def test_child_commit_completes_when_not_killed(setup: tuple) -> None:
    root, incoming, _, v2 = setup
    proc = spawn(CHILD_COMMIT, root, incoming, "", "exchange")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "DONE 2" in out
    head = Archive.open(root).read("gasometer")
    assert {lp: sha512(p.read_bytes()) for lp, p in head.files.items()} == v2


def test_second_writer_gets_archive_locked_naming_the_holder(setup: tuple) -> None:
    root = setup[0]
    proc = spawn(CHILD_HOLD, root, 120)
    try:
        wait_for(proc, "HOLDING")
        archive = Archive.open(root)
        started = time.monotonic()
        with pytest.raises(ArchiveLocked) as exc, \
                archive.writer("gasometer", message="second", lock_timeout=0.3):
            pass
        assert 0.3 <= time.monotonic() - started < 5
        message = str(exc.value)
        assert f"pid {proc.pid}" in message and "retry" in message
    finally:
        kill(proc)
    # The holder died with its lock file and staging folder in place; neither blocks us.
    with archive.writer("gasometer", message="after the holder died", user="t") as w:
        w.add_bytes("x.txt", b"x")
    assert w.version == 2
    assert os.listdir(archive.staging_dir) == [] and os.listdir(archive.locks_dir) == []


def test_waiting_writer_goes_on_when_the_holder_finishes(setup: tuple) -> None:
    root = setup[0]
    proc = spawn(CHILD_HOLD, root, 0.5)
    wait_for(proc, "HOLDING")
    archive = Archive.open(root)
    with archive.writer("gasometer", message="waited", user="t", lock_timeout=30) as w:
        w.add_bytes("waited.txt", b"waited")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "DONE 2" in out and w.version == 3
    assert [v.message for v in archive.log("gasometer")] == ["v1", "held", "waited"]
