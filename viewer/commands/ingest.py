"""`stadtzeit ingest MANIFEST`: every epoch of a site manifest into the archive."""

from __future__ import annotations

import argparse
import getpass
from contextlib import contextmanager
from pathlib import Path

from viewer.cli import add_archive_option, archive_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest", help="turn a site manifest's scans into archive products",
        description=(
            "Read every epoch of the site manifest, verify its source files, clean and "
            "register the points, build meshes in three levels of detail and store them with "
            "the originals and their provenance as new archive versions (one per epoch). "
            "Epochs whose inputs did not change are skipped ('unchanged')."))
    p.add_argument("manifest", type=Path, metavar="MANIFEST", help="site manifest (TOML)")
    p.add_argument("--epoch", action="append", metavar="ID", dest="epochs",
                   help="ingest only this epoch (repeatable)")
    p.add_argument("--force", action="store_true",
                   help="accept a registration whose RMSE exceeds the preset's limit")
    p.add_argument("--keep-going", action="store_true",
                   help="go on with the next epoch when one fails (exit code 1 at the end)")
    p.add_argument("--user", default=None, help="name recorded with the new versions")
    p.add_argument("--init", action="store_true",
                   help="create the archive folder if it does not exist yet")
    add_archive_option(p)
    p.set_defaults(func=run)


def open_or_init(path: Path, init: bool):
    from archive import Archive, NotAnArchive

    try:
        return Archive.open(path)
    except NotAnArchive:
        if not init:
            raise
        return Archive.init(path)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from processing.ingest import ingest

    console = Console(stderr=True)
    archive = open_or_init(archive_path(args), args.init)
    with stage_progress(console) as progress:
        report = ingest(args.manifest, archive, epochs=args.epochs, force=args.force,
                        user=args.user or getpass.getuser(), progress=progress,
                        keep_going=args.keep_going)
    print_report(report)
    return 1 if report.failed else 0


@contextmanager
def stage_progress(console):
    """A rich progress bar per epoch that advances through the ingest stages."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from processing.ingest import STAGES

    bars: dict[str, int] = {}
    with Progress(TextColumn("[bold]{task.fields[epoch]}"), BarColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        def on_stage(epoch: str, stage: str) -> None:
            if epoch not in bars:
                bars[epoch] = progress.add_task(stage, total=len(STAGES), epoch=epoch)
            progress.update(bars[epoch], completed=STAGES.index(stage), description=stage)

        yield on_stage
        for task in bars.values():
            progress.update(task, completed=len(STAGES), description="done")


def print_report(report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ingest: {report.site}")
    for col in ("epoch", "status", "version", "points", "faces (LODs)", "RMSE (m)", "time (s)"):
        table.add_column(col, justify="right" if col not in ("epoch", "status") else "left")
    for e in report.epochs:
        table.add_row(
            e.epoch, e.status if not e.error else f"failed: {e.error.splitlines()[0]}",
            f"v{e.version}" if e.version else "–", f"{e.points:,}" if e.points else "–",
            " / ".join(f"{f:,}" for f in e.faces) or "–",
            f"{e.rmse:.4f}" if e.rmse is not None else "–", f"{e.seconds:.1f}")
    console = Console()
    console.print(table)
    if report.manifest_version:
        console.print(f"site manifest updated as v{report.manifest_version}")
    if report.unchanged:
        console.print("unchanged: every epoch is already in the archive with the same inputs")
