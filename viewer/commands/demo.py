"""`stadtzeit demo`: build, scan, ingest and open the synthetic Gasometer demo site."""

from __future__ import annotations

import argparse
import filecmp
import getpass
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from viewer.cli import add_archive_option, archive_path


def default_sources_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("stadtzeit", appauthor=False)) / "demo"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="build the Gasometer demo site end to end and open it",
        description=(
            "Build a model of the Gasometer Oberhausen in three epochs with known changes, "
            "scan it with simulated airborne and terrestrial LiDAR (and one textured "
            "photogrammetry-style mesh), write its site manifest and sources, ingest them into "
            "the archive, compare the epochs and open the viewer. Deterministic for a seed: a "
            "second run finds everything unchanged."))
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where the demo's manifest, sources and ground truth go "
                        "(default: the user data folder's stadtzeit/demo)")
    p.add_argument("--seed", type=int, default=7, help="random seed of the demo (default 7)")
    p.add_argument("--no-gui", action="store_true",
                   help="stop after printing the archive summary (no window)")
    add_archive_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from processing.ingest import ingest
    from viewer.commands.ingest import open_or_init, print_report, stage_progress

    console = Console()
    t0 = time.perf_counter()
    out = args.out or default_sources_dir()
    with console.status("building the demo site and scanning it…"):
        manifest_path = build_sources(out, seed=args.seed)
    t_build = time.perf_counter() - t0
    console.print(f"demo sources written to {out} ({t_build:.1f} s)")

    archive = open_or_init(archive_path(args), init=True)
    with stage_progress(Console(stderr=True)) as progress:
        report = ingest(manifest_path, archive, user=getpass.getuser(), progress=progress)
    print_report(report)
    compare_demo(archive, report.site, console)
    store_demo_story(archive, report.site, manifest_path.parent / "truth.json", console)
    # The archive summary, exactly as `stadtzeit archive ls` and `archive log` print it.
    from viewer.cli import main as cli_main

    cli_main(["archive", "ls", "--archive", str(archive.root)])
    cli_main(["archive", "log", report.site, "--archive", str(archive.root)])
    console.print(f"demo finished in {time.perf_counter() - t0:.1f} s "
                  f"(archive: {archive.root})")
    if args.no_gui:
        return 0
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        console.print(f"no screen here, so no window: open the site on a machine with a "
                      f"display with `stadtzeit view {report.site}`, or here under Xvfb with "
                      f"`xvfb-run -a stadtzeit view {report.site}`")
        return 0
    from viewer.commands.view import open_viewer

    return open_viewer(archive.root, report.site)


def build_sources(out: Path, seed: int = 7, **options) -> Path:
    """Build the demo's sources into a temporary folder beside ``out``, then rename it to
    ``out``; returns the manifest's path.  Demos running at once never see each other's
    half-written files: the same seed gives the same bytes, so a finished folder with equal
    content is kept as it is, a different one is swapped out whole."""
    from processing.demo import build_demo_sources

    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-building-", dir=out.parent))
    try:
        name = build_demo_sources(tmp, seed=seed, **options).manifest_path.name
        for _ in range(3):
            if _same_files(tmp, out):
                shutil.rmtree(tmp)
                break
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
                os.rename(out, old / out.name)
                shutil.rmtree(old)
            try:
                os.rename(tmp, out)
                break
            except OSError:             # another demo renamed its folder there first
                continue
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / name


def _same_files(a: Path, b: Path) -> bool:
    """True if folders ``a`` and ``b`` hold the same files with the same bytes."""
    if not b.is_dir():
        return False
    files = {p.relative_to(a): p for p in a.rglob("*") if p.is_file()}
    others = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    return files.keys() == others and all(
        filecmp.cmp(p, b / rel, shallow=False) for rel, p in files.items())


def compare_demo(archive, site: str, console) -> None:
    """Change products for consecutive epochs and for first → last: the DEM difference (its
    regions' volumes) for every pair, and M3C2 where the viewer shows it (both epochs saw
    walls), so the viewer's heatmap and region list are ready at once."""
    from processing.compare import captures, compare, compare_all_consecutive
    from viewer.model.changes import SEES_WALLS

    results = compare_all_consecutive(archive, site, method="dod")
    epochs = sorted({r.a for r in results} | {r.b for r in results})
    if len(epochs) > 2:
        results.append(compare(archive, site, epochs[0], epochs[-1], method="dod"))
    capture = captures(archive.read(site))
    results += [compare(archive, site, r.a, r.b, method="m3c2") for r in list(results)
                if capture.get(r.a) in SEES_WALLS and capture.get(r.b) in SEES_WALLS]
    for result in results:
        console.print(result.one_line())


def store_demo_story(archive, site: str, truth_path: Path, console=None) -> int | None:
    """The demo's guided tour of its known changes (truth.json) as `stories/<id>.json`; a new
    version only when the stored story differs (a second run changes nothing)."""
    import json

    from viewer.model.stories import save_story, story_path
    from viewer.model.tour import story_from_truth

    story = story_from_truth(json.loads(Path(truth_path).read_text(encoding="utf-8")))
    head = archive.read(site)
    logical = story_path(story.id)
    if logical in head.files and json.loads(head.files[logical].read_text("utf-8")) == \
            story.to_json_dict():
        return None
    version = save_story(archive, story, message=f"demo: story '{story.id}'", user="demo")
    if console is not None:
        console.print(f"story '{story.id}' ({len(story.stops)} stops) stored as version "
                      f"{version}")
    return version
