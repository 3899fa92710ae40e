"""A writer killed at any moment leaves the previous head intact and the object valid.

A child process commits a version (several MB, dozens of files) and is SIGKILLed either at a
named stage of the commit protocol (``archive.fsops.STAGE_HOOK`` makes it stop there) or after
a delay. The parent then checks the object with ocfl-py's validator, checks every file of the
head version, and commits again.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from archive import Archive, ArchiveLocked, fsops
from archive._ocfl import Validator

ROOT = Path(__file__).resolve().parents[1]

# Children are forked from the test process (no second interpreter start-up per kill); one
# test runs the same commit in a fresh interpreter to show nothing depends on that.
FORK = multiprocessing.get_context("fork")


def commit_child(conn: Connection, root: Path, incoming: Path, pause_at: str, mode: str) -> None:
    """Commit the files under ``incoming`` as the next version, reporting progress on ``conn``;
    stop for good at the stage ``pause_at`` (``archive.fsops`` calls the hook at each stage)."""
    if mode == "fallback":
        fsops.EXCHANGE_ENABLED = False

    def hook(stage: str) -> None:
        conn.send(f"at {stage}")
        if stage == pause_at:
            conn.send("PAUSED")
            time.sleep(120)

    fsops.STAGE_HOOK = hook
    archive = Archive.open(root)
    site = "newsite" if mode == "new-site" else "gasometer"
    conn.send("OPEN")
    with archive.writer(site, message="v2 from the child", user="child") as w:
        for path in sorted(Path(incoming).rglob("*")):
            if path.is_file():
                w.add_file(path.relative_to(incoming).as_posix(), path)
        if w.exists("epochs/2019-05-01/tiles/000.bin"):
            w.remove("epochs/2019-05-01/tiles/000.bin")
        conn.send("STAGED")
    conn.send(f"DONE {w.version}")


def hold_child(conn: Connection, root: Path, seconds: float) -> None:
    archive = Archive.open(root)
    with archive.writer("gasometer", message="held", user="holder") as w:
        w.add_bytes("held.txt", b"held")
        conn.send("HOLDING")
        time.sleep(seconds)
    conn.send(f"DONE {w.version}")


SUBPROCESS_COMMIT = """
import sys
from multiprocessing.connection import Connection
sys.path.insert(0, sys.argv[1])
import test_archive_crash as t

class Stdout:
    def send(self, message):
        print(message, flush=True)

t.commit_child(Stdout(), *sys.argv[2:])
"""


class Child:
    """A forked child process running ``target(conn, *args)``."""

    def __init__(self, target: Callable[..., None], *args: object):
        self.conn, child_conn = FORK.Pipe()
        self.process = FORK.Process(target=target, args=(child_conn, *args), daemon=True)
        self.process.start()
        child_conn.close()
        self.pid = self.process.pid

    def wait_for(self, marker: str, timeout: float = 60) -> str:
        while self.conn.poll(timeout):
            try:
                message = self.conn.recv()
            except EOFError:
                break
            if message.startswith(marker):
                return message
        pytest.fail(f"child ended or hung before {marker!r} (exit code "
                    f"{self.process.exitcode})")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.join(30)
        assert self.process.exitcode == -signal.SIGKILL


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
    archive = Archive.init(tmp_path / "archive", durable=False)  # only the setup
    v1 = v1_files()
    with archive.writer("gasometer", message="v1", user="parent") as w:
        for logical, data in v1.items():
            w.add_bytes(logical, data)
    incoming = tmp_path / "incoming"
    for logical, data in v2_incoming().items():
        (incoming / logical).parent.mkdir(parents=True, exist_ok=True)
        (incoming / logical).write_bytes(data)
    expected_v1 = {lp: sha512(d) for lp, d in v1.items()}
    expected_v2 = {**expected_v1, **{lp: sha512(d) for lp, d in v2_incoming().items()}}
    del expected_v2["epochs/2019-05-01/tiles/000.bin"]
    return archive.root, incoming, expected_v1, expected_v2


def assert_recovered(root: Path, site: str, expected: dict[int, dict[str, str]]) -> int:
    """The object is valid, its head is one of ``expected`` with every file intact, and the
    next writer succeeds and leaves nothing behind. Returns the head found after the kill."""
    archive = Archive.open(root)  # tidies staging/, puts back an object set aside
    assert os.listdir(archive.staging_dir) == []
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
    child = Child(commit_child, root, incoming, stage, mode)
    child.wait_for("PAUSED")
    child.kill()
    if stage == "moved-aside":
        assert not (root / "ocfl" / "gasometer").exists()  # the window the fallback has
    expected = {1: v1, 2: v2}
    assert assert_recovered(root, "gasometer", {h: expected[h] for h in heads}) in heads


def test_kill_while_creating_a_new_site(setup: tuple) -> None:
    root, incoming, _, _ = setup
    child = Child(commit_child, root, incoming, "before-swap", "new-site")
    child.wait_for("PAUSED")
    child.kill()
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
    child = Child(commit_child, root, incoming, "", "exchange")
    child.wait_for(marker)
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)  # it may have finished already
    child.process.join(30)
    assert_recovered(root, "gasometer", {1: v1, 2: v2})


def test_kill_a_writer_in_a_fresh_interpreter(setup: tuple) -> None:
    root, incoming, v1, _ = setup
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBPROCESS_COMMIT, str(Path(__file__).parent), str(root),
         str(incoming), "written", "exchange"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("PAUSED"):
                break
        else:
            pytest.fail(f"child ended early: {proc.stderr.read() if proc.stderr else ''}")
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert assert_recovered(root, "gasometer", {1: v1}) == 1


def test_second_writer_gets_archive_locked_naming_the_holder(setup: tuple) -> None:
    root = setup[0]
    child = Child(hold_child, root, 120)
    try:
        child.wait_for("HOLDING")
        archive = Archive.open(root)
        started = time.monotonic()
        with pytest.raises(ArchiveLocked) as exc, \
                archive.writer("gasometer", message="second", lock_timeout=0.3):
            pass
        assert 0.3 <= time.monotonic() - started < 5
        message = str(exc.value)
        assert f"pid {child.pid}" in message and "retry" in message
    finally:
        child.kill()
    # The holder died with its lock file and staging folder in place; neither blocks us.
    assert os.listdir(archive.locks_dir) == ["gasometer.lock"]
    with archive.writer("gasometer", message="after the holder died", user="t") as w:
        w.add_bytes("x.txt", b"x")
    assert w.version == 2
    assert os.listdir(archive.staging_dir) == [] and os.listdir(archive.locks_dir) == []


def test_waiting_writer_goes_on_when_the_holder_finishes(setup: tuple) -> None:
    root = setup[0]
    child = Child(hold_child, root, 0.5)
    child.wait_for("HOLDING")
    archive = Archive.open(root)
    with archive.writer("gasometer", message="waited", user="t", lock_timeout=30) as w:
        w.add_bytes("waited.txt", b"waited")
    assert child.wait_for("DONE") == "DONE 2" and w.version == 3
    child.process.join(30)
    assert [v.message for v in archive.log("gasometer")] == ["v1", "held", "waited"]
