"""`stadtzeit view` refuses an unknown site or epoch at once (no window, no waiting)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from viewer_fixtures import E1, SITE, build_archive

ROOT = Path(__file__).resolve().parents[1]


def run_view(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "viewer.cli", "view", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    return out, time.perf_counter() - t


def test_unknown_site_or_epoch_fails_fast_with_the_choices(tmp_path) -> None:
    arch = build_archive(tmp_path, epochs=(E1,), change=False)
    out, _ = run_view("nosuch", "--archive", str(arch.root), "--screenshot",
                      str(tmp_path / "x.png"))
    assert out.returncode != 0
    assert "'nosuch' is not in the archive" in out.stderr and SITE in out.stderr
    assert not (tmp_path / "x.png").exists()
    out, _ = run_view(SITE, "--epoch", "1999-01-01", "--archive", str(arch.root),
                      "--screenshot", str(tmp_path / "x.png"))
    assert out.returncode != 0 and E1 in out.stderr and "--epoch" in out.stderr


def test_help_examples_name_the_demo_site_one_per_line() -> None:
    out = subprocess.run([sys.executable, "-m", "viewer.cli", "view", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True)
    lines = [ln.strip() for ln in out.stdout.splitlines() if "gasometer-demo" in ln]
    assert len(lines) == 2
    assert lines[0].startswith("stadtzeit view") and lines[1].startswith("xvfb-run")
    from processing.demo.build import SITE_ID  # the site the demo writes
    assert SITE_ID == "gasometer-demo"
