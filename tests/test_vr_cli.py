"""`stadtzeit vr` without a runtime: a message that says how to get one, exit code 2, and
`runtime_available()` saying no — with the real OpenXR loader, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from viewer.cli import build_parser
from viewer.commands.vr import runtime_available

ROOT = Path(__file__).resolve().parents[1]


def no_runtime_env(tmp_path: Path, manifest: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XR_", "XDG_CONFIG"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_CONFIG_DIRS"] = str(tmp_path / "etc-xdg")
    if manifest is not None:
        env["XR_RUNTIME_JSON"] = str(manifest)
    return env


def broken_runtime(tmp_path: Path) -> Path:
    """A runtime manifest whose library does not exist: the loader finds it and fails."""
    path = tmp_path / "broken_runtime.json"
    path.write_text(json.dumps({"file_format_version": "1.0.0", "runtime": {
        "name": "Nowhere", "library_path": str(tmp_path / "libopenxr_nowhere.so")}}))
    return path


def run_cli(args: list[str], env: dict[str, str],
            entry: str = "viewer.cli") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", entry, *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_vr_command_is_registered():
    parser = build_parser()
    args = parser.parse_args(["vr", "gasometer", "--epoch", "2021-04-01", "--lod", "1",
                              "--frames", "10", "--screenshot", "eye.png", "--start",
                              "miniature", "--heatmap", "--graphics", "egl"])
    assert (args.site, args.epoch, args.lod, args.frames) == ("gasometer", "2021-04-01", 1, 10)
    assert args.screenshot == Path("eye.png") and args.start == "miniature" and args.heatmap


@pytest.mark.parametrize("configured", [False, True], ids=["none-configured", "broken"])
@pytest.mark.parametrize("entry", ["viewer.cli", "viewer.commands.vr"])
def test_without_a_runtime_says_how_to_get_one(tmp_path, configured, entry):
    env = no_runtime_env(tmp_path, broken_runtime(tmp_path) if configured else None)
    args = ["somesite", "--archive", str(tmp_path / "nowhere")]
    done = run_cli(["vr", *args] if entry == "viewer.cli" else args, env, entry)
    assert done.returncode == 2, done.stderr
    for hint in ("no OpenXR runtime", "SteamVR", "apt install monado-service", "Debian 13"):
        assert hint in done.stderr
    assert "Traceback" not in done.stderr and "OpenXR-Loader" not in done.stderr


def test_runtime_available_says_no(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith(("XR_", "XDG_CONFIG"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc-xdg"))
    loaded = "xr" in sys.modules
    assert runtime_available() is False                       # nothing configured: at once
    monkeypatch.setenv("XR_RUNTIME_JSON", str(broken_runtime(tmp_path)))
    assert runtime_available() is False                       # asked in a child process
    assert ("xr" in sys.modules) == loaded                    # the runtime never came here


def test_an_unknown_stereo_mode_fails_before_the_runtime(tmp_path):
    env = {**no_runtime_env(tmp_path), "STADTZEIT_VR_STEREO": "single"}
    done = run_cli(["vr", "somesite", "--archive", str(tmp_path / "nowhere")], env)
    assert done.returncode == 1, done.stderr
    assert "stereo mode 'single'" in done.stderr and "auto, multiview, two-pass" in done.stderr
    assert "no OpenXR runtime" not in done.stderr and "Traceback" not in done.stderr
    bad = run_cli(["vr", "somesite", "--stereo", "one-pass"], env)
    assert bad.returncode == 2 and "invalid choice: 'one-pass'" in bad.stderr
