"""``stadtzeit archive ...`` end to end, through viewer.cli.main on real archive folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from archive import Archive
from viewer.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "archive"
    code, out, _ = run(capsys, "archive", "init", "--archive", str(root))
    assert code == 0 and "Created an empty archive" in out
    archive = Archive.open(root, durable=False)
    with archive.writer("gasometer", message="ingest 2019-05-01", user="Alice") as w:
        w.add_json("site.json", {"name": {"de": "Gasometer Oberhausen", "en": "Gasometer"},
                                 "epochs": [{"id": "2019-05-01", "capture": "airborne-lidar"}]})
        w.add_bytes("epochs/2019-05-01/points.laz", b"p" * 5000)
    with archive.writer("gasometer", message="ingest 2023-06-12", user="Bob") as w:
        w.add_bytes("epochs/2023-06-12/points.laz", b"q" * 7000)
    return root


def test_init_refuses_an_existing_archive(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "archive", "init", "--archive", str(root))
    assert code == 1 and "already a stadtzeit archive" in err


def test_commands_on_a_folder_that_is_no_archive_say_how_to_make_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "archive", "ls", "--archive", str(tmp_path))
    assert code == 1 and "stadtzeit archive init" in err


def test_archive_option_defaults_to_the_environment(root: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STADTZEIT_ARCHIVE", str(root))
    code, out, _ = run(capsys, "archive", "ls")
    assert code == 0 and "gasometer" in out


def test_ls_log_show(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "archive", "ls", "--archive", str(root))
    assert code == 0
    assert "gasometer" in out and "Gasometer Oberhausen" in out and "v2" in out
    assert "2019-05-01" in out and "2023-06-12" in out
    code, out, _ = run(capsys, "archive", "log", "gasometer", "--archive", str(root))
    assert code == 0
    assert out.index("ingest 2019-05-01") < out.index("ingest 2023-06-12")
    assert "Alice" in out and "Bob" in out
    code, out, _ = run(capsys, "archive", "show", "gasometer@v1", "--archive", str(root))
    assert code == 0 and "gasometer@v1" in out and "newest is v2" in out
    assert "epochs/2019-05-01/points.laz" in out and "2023-06-12" not in out
    code, out, _ = run(capsys, "archive", "show", "gasometer", "--paths", "--archive", str(root))
    assert code == 0 and str(root / "ocfl" / "gasometer" / "v2" / "content") in out


def test_show_unknown_version_lists_versions(root: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "archive", "show", "gasometer@v5", "--archive", str(root))
    assert code == 1 and "v1 … v2" in err
    code, _, err = run(capsys, "archive", "log", "schloss", "--archive", str(root))
    assert code == 1 and "sites: gasometer" in err


def test_verify_ok_then_names_every_problem_and_exits_1(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "archive", "verify", "--archive", str(root))
    assert code == 0 and out.startswith("OK: 1 site(s), 3 file(s)")
    obj = root / "ocfl" / "gasometer"
    flipped = obj / "v1/content/epochs/2019-05-01/points.laz"
    os.chmod(flipped, 0o644)
    flipped.write_bytes(b"p" * 4999 + b"X")
    (obj / "v2/content/epochs/2023-06-12/points.laz").unlink()
    (obj / "v1/content/extra.txt").write_text("extra")
    inventory = json.loads((obj / "inventory.json").read_text())
    inventory["versions"]["v1"]["user"]["name"] = "Mallory"
    os.chmod(obj / "inventory.json", 0o644)
    (obj / "inventory.json").write_text(json.dumps(inventory))
    code, out, _ = run(capsys, "archive", "verify", "gasometer", "--archive", str(root))
    assert code == 1
    lines = out.splitlines()
    for path, words in [
            ("v1/content/epochs/2019-05-01/points.laz", "content changed"),
            ("v2/content/epochs/2023-06-12/points.laz", "content file missing"),
            ("v1/content/extra.txt", "extra file"),
            ("inventory.json", "inventory was changed")]:
        assert any(line.startswith(f"gasometer: {path}: ") and words in line for line in lines), out
    assert "problem(s) found" in out


def test_reindex_rebuilds_a_deleted_catalog(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, before, _ = run(capsys, "archive", "ls", "--archive", str(root))
    (root / "catalog.sqlite").unlink()
    code, out, _ = run(capsys, "archive", "reindex", "--archive", str(root))
    assert code == 0 and "1 site(s) indexed" in out
    _, after, _ = run(capsys, "archive", "ls", "--archive", str(root))
    assert after == before


@pytest.mark.parametrize("action", ["init", "ls", "log", "show", "verify", "reindex"])
def test_every_action_has_help_with_the_archive_option(
        action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["archive", action, "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "--archive PATH" in out and len(out.splitlines()) > 5
