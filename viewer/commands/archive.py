"""``stadtzeit archive``: create, list, inspect, verify and re-index an archive."""

from __future__ import annotations

import argparse
import contextlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from viewer.cli import add_archive_option, archive_path

if TYPE_CHECKING:  # the archive (and ocfl-py) is imported only when a command runs
    from rich.console import Console

    from archive import Archive

DESCRIPTION = """\
The archive keeps every site as an OCFL 1.1 object: each ingest, reprocessing or edit is a new,
immutable version (v1, v2, ...) with a date, a message and a user, and every stored file has a
sha512 digest. Old versions stay readable as SITE@vN. A SQLite catalog indexes it all for fast
listing and can be rebuilt from the objects at any time.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "archive", help="the OCFL archive: versions, fixity, catalog",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="archive_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    def action(name: str, help: str, description: str, func: Callable[[argparse.Namespace], int],
               epilog: str = "") -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help, description=textwrap.fill(description, 79),
                               epilog=epilog + "\n" if epilog else None,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        add_archive_option(p)
        p.add_argument("--restricted", action="store_true",
                       help="archivists: include the restricted objects (<site>--restricted, "
                            "originals) where the OS lets this user read them")
        p.set_defaults(func=func)
        return p

    action("init", "create a new, empty archive",
           "Create an archive in a new or empty folder: an OCFL storage root (ocfl/), the "
           "catalog (catalog.sqlite), and the staging/ and locks/ folders writers use.",
           _init, "example:\n  stadtzeit archive init --archive /srv/stadtzeit")
    action("ls", "list the sites with their newest version",
           "List every site: id, name (DE/EN), newest version, when it was written, and its "
           "epochs. Reads the catalog, re-indexing any site whose object changed.", _ls)
    p = action("log", "list the versions of one site",
               "Show every version of a site, oldest first: number, date (UTC), user, message.",
               _log, "example:\n  stadtzeit archive log gasometer")
    p.add_argument("site", metavar="SITE", help="site id, e.g. gasometer")
    p = action("show", "list the files of a site version",
               "Show one version of a site (default: the newest) and its files with size and "
               "sha512. The files are read from the object's inventory.",
               _show, "examples:\n  stadtzeit archive show gasometer\n"
                      "  stadtzeit archive show gasometer@v2 --paths")
    p.add_argument("ref", metavar="SITE[@vN]", help="site id, optionally with a version")
    p.add_argument("--paths", action="store_true",
                   help="show where each file is stored instead of its digest")
    p = action("verify", "check the fixity of every stored file",
               "Check one site or the whole archive: recompute the sha512 of every stored file, "
               "look for missing and unlisted files and for changed inventories, and run the "
               "ocfl-py validator. Changes nothing. Exits with 1 and names every problem when "
               "anything is wrong.", _verify,
               "examples:\n  stadtzeit archive verify\n  stadtzeit archive verify gasometer")
    p.add_argument("site", metavar="SITE", nargs="?", help="only this site (default: all)")
    p = action("export", "write a site as a BagIt bag for another archive",
               "Write a site's OCFL object, unchanged and with all its versions, as a BagIt 1.0 "
               "bag (sha512 manifests, bag-info.txt with organisation, contact, licence and "
               "attribution). With --version, that version's state alone as a fresh object. "
               "Never writes to the archive; a privacy-restricted object (SITE--restricted) "
               "is refused.", _export,
               "examples:\n  stadtzeit archive export gasometer --bag /media/usb/gasometer\n"
               "  stadtzeit archive export gasometer --bag gasometer-v2 --version v2")
    p.add_argument("site", metavar="SITE", help="site id, e.g. gasometer")
    p.add_argument("--bag", required=True, type=Path, metavar="OUT",
                   help="folder to create for the bag (must not exist)")
    p.add_argument("--version", metavar="vN", help="only this version, as a fresh object")
    p.add_argument("--organization", metavar="NAME",
                   help="Source-Organization (default: the site's attribution)")
    p.add_argument("--contact", metavar="NAME", help="Contact-Name")
    p.add_argument("--email", metavar="ADDRESS", help="Contact-Email")
    p.add_argument("--description", metavar="TEXT", help="External-Description")
    p = action("import", "add a site from a BagIt bag",
               "Check a bag made by `stadtzeit archive export` — the bag (every sha512), the "
               "OCFL object (ocfl-py's validator), site.json and the products — then add the "
               "site. A site that exists gets only the newer versions, and only when both "
               "histories agree. A damaged, incomplete or hostile bag is refused, naming the "
               "file; nothing is written then.", _import,
               "example:\n  stadtzeit archive import /media/usb/gasometer")
    p.add_argument("bag", metavar="BAG", type=Path, help="the bag's folder (holding bagit.txt)")
    p.add_argument("--max-files", type=int, default=None, metavar="N",
                   help="refuse bags with more files than this (default: 100000)")
    action("reindex", "rebuild the catalog from the OCFL objects",
           "Rebuild catalog.sqlite from the OCFL objects alone. The catalog is derived data: "
           "run this after restoring objects from a backup or if listings look wrong.", _reindex)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _console() -> Console:
    from rich.console import Console
    # Not a terminal (a pipe, a log): do not cut paths and digests at 80 columns.
    return Console(width=None if sys.stdout.isatty() else 250)


def _open(args: argparse.Namespace) -> Archive:
    from archive import Archive
    return Archive.open(archive_path(args),
                        include_restricted=getattr(args, "restricted", False))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _size(n: int | None) -> str:
    if n is None:
        return "missing"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


@contextlib.contextmanager
def _progress(what: str, as_bytes: bool) -> Iterator[Callable[[int, int, str], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    counter = DownloadColumn() if as_bytes else MofNCompleteColumn()
    console = Console(stderr=True)
    with Progress(TextColumn(what), BarColumn(), counter, TimeRemainingColumn(),
                  TextColumn("{task.description}"), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[-60:])

        yield update


def _init(args: argparse.Namespace) -> int:
    from archive import Archive
    archive = Archive.init(archive_path(args))
    _console().print(f"Created an empty archive in {archive.root}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    from rich.table import Table
    archive = _open(args)
    sites = archive.sites()
    console = _console()
    if not sites:
        console.print(f"No sites in {archive.root} yet.")
        return 0
    table = Table(title=f"Sites in {archive.root}")
    for column in ("site", "name (de)", "name (en)", "head", "updated", "epochs"):
        table.add_column(column)
    notes = []
    for s in sites:
        # epochs the manifest lists but no ingest stored (one failed) are not in the archive
        records = archive.epochs(s.id)
        stored = [e.id for e in records if e.processed]
        pending = [e.id for e in records if not e.processed]
        if pending:
            notes.append(f"{s.id}: listed in its manifest, not ingested: {', '.join(pending)}")
        table.add_row(s.id, s.name_de or "-", s.name_en or "-", f"v{s.head}", _when(s.updated),
                      ", ".join(stored) or "-")
    console.print(table)
    for note in notes:
        console.print(note, style="dim")
    if archive.include_restricted and archive.restricted_ids():
        console.print("restricted (originals, archivists only): "
                      + ", ".join(archive.restricted_ids()), highlight=False)
    return 0


def _log(args: argparse.Namespace) -> int:
    from rich.table import Table
    archive = _open(args)
    versions = archive.log(args.site)
    table = Table(title=f"Versions of {args.site}")
    for column in ("version", "created", "user", "message"):
        table.add_column(column)
    for v in versions:
        user = f"{v.user} <{v.address}>" if v.address else (v.user or "-")
        table.add_row(f"v{v.number}", _when(v.created), user, v.message or "")
    _console().print(table)
    return 0


def _show(args: argparse.Namespace) -> int:
    from rich.table import Table
    archive = _open(args)
    version = archive.read(args.ref)
    console = _console()
    state = "newest" if version.is_head else f"newest is v{version.head}"
    console.print(f"[bold]{version.ref}[/bold] ({state}) — {_when(version.created)}, "
                  f"{version.user or '-'}: {version.message or ''}", highlight=False)
    table = Table()
    table.add_column("file")
    table.add_column("size", justify="right")
    table.add_column("stored at" if args.paths else "sha512")
    for logical, path in version.files.items():
        try:
            size = path.stat().st_size
        except OSError:
            size = None
        where = str(path) if args.paths else version.digests[logical][:32] + "…"
        table.add_row(logical, _size(size), where)
    console.print(table)
    console.print(f"{len(version.files)} file(s)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    archive = _open(args)
    with _progress("verifying", as_bytes=True) as progress:
        report = archive.verify(args.site, progress=progress)
    console = _console()
    if report.ok:
        console.print(f"OK: {len(report.sites)} site(s), {report.files} file(s), "
                      f"{_size(report.bytes)} verified", highlight=False)
        return 0
    for problem in report.problems:
        where = f"{problem.site or 'storage root'}: {problem.path + ': ' if problem.path else ''}"
        console.print(where + problem.message, markup=False, highlight=False, soft_wrap=True)
    console.print(f"[red]{len(report.problems)} problem(s) found[/red] in "
                  f"{len(report.sites)} site(s)")
    return 1


def _reindex(args: argparse.Namespace) -> int:
    archive = _open(args)
    with _progress("indexing", as_bytes=False) as progress:
        count = archive.reindex(progress=progress)
    _console().print(f"Catalog rebuilt: {count} site(s) indexed in {archive.catalog_path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from archive.bag import export_bag
    archive = _open(args)
    version = None
    if args.version:
        _, version = archive.parse_ref(f"{args.site}@{args.version}")
    report = export_bag(archive, args.site, args.bag, version=version,
                        organization=args.organization, contact_name=args.contact,
                        contact_email=args.email, description=args.description)
    versions = ", ".join(f"v{n}" for n in report.versions)
    _console().print(f"Wrote {report.bag}: {report.site} ({versions}), {report.files} file(s), "
                     f"{_size(report.bytes)}; bag validated", highlight=False)
    return 0


def _import(args: argparse.Namespace) -> int:
    from archive.bag import MAX_FILES, import_bag
    archive = _open(args)
    report = import_bag(archive, args.bag, max_files=args.max_files or MAX_FILES)
    console = _console()
    if report.unchanged:
        console.print(f"{report.site}: the archive already has every version of the bag "
                      f"(head v{report.head}); nothing written", highlight=False)
    else:
        added = ", ".join(f"v{n}" for n in report.added)
        what = "new site" if report.created else "appended"
        console.print(f"{report.site}: {what} {added} (head v{report.head}) from {args.bag}",
                      highlight=False)
    return 0
