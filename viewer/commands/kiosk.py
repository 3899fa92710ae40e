"""`stadtzeit kiosk`: the locked, self-running museum exhibit (Qt only in the UI process)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from viewer.cli import archive_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kiosk", help="run the museum kiosk (full screen, locked, self-healing)",
        description="Run the touch kiosk: Home with the configured sites, a site with its "
                    "timeline, before/after swipe, 'What changed?' and stories, and an attract "
                    "loop after the idle time. Full screen and locked; the archive is opened "
                    "read-only. A supervisor restarts the kiosk after a crash or a hang. Staff "
                    "leave by holding a screen corner and typing the PIN. See docs/KIOSK.md.",
        epilog="examples: stadtzeit kiosk --config /etc/stadtzeit/kiosk.toml\n"
               "          stadtzeit kiosk --check /etc/stadtzeit/kiosk.toml\n"
               "          stadtzeit kiosk --hash-pin")
    p.add_argument("--config", type=Path, default=None, metavar="TOML",
                   help="kiosk.toml (default: all defaults, every site)")
    p.add_argument("--archive", type=Path, default=None, metavar="PATH",
                   help="archive folder (default: the config's archive, else "
                        "$STADTZEIT_ARCHIVE or the user data folder)")
    p.add_argument("--check", type=Path, default=None, metavar="TOML",
                   help="check a kiosk.toml (and its archive, if reachable), name every "
                        "problem, and exit")
    p.add_argument("--hash-pin", action="store_true",
                   help="ask for a staff PIN twice and print the pin_hash line for kiosk.toml")
    p.add_argument("--no-supervisor", action="store_true",
                   help="run the UI in this process (no restart after a crash)")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="a window of this size instead of full screen (for trying it out)")
    p.add_argument("--start", choices=["attract", "home"], default="attract",
                   help="first screen (default: the attract loop)")
    p.set_defaults(func=run)


def _archive(args: argparse.Namespace, config) -> Path:
    if args.archive:
        return args.archive
    if config.archive is not None:
        return config.archive
    return archive_path(args)


def check(path: Path, archive: Path | None) -> int:
    """Every problem at once: the settings' fields, then the sites against the archive."""
    import tomllib

    from archive import Archive
    from assets_manifest.errors import StadtzeitError
    from viewer.kiosk.config import KioskConfigError, load_config

    problems: list[tuple[str, str]] = []
    config = None
    try:
        config = load_config(path)
    except KioskConfigError as exc:
        problems += exc.problems
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = {}
    where = archive or (config.archive if config else None) or (
        Path(path).parent / raw["archive"] if isinstance(raw.get("archive"), str) else None)
    sites = raw.get("sites") if isinstance(raw.get("sites"), list) else []
    if where is not None:
        try:
            ids = Archive.open(where).site_ids()
            problems += [(f, r) for f, r in check_against_archive_ids(sites, ids)]
        except StadtzeitError as exc:
            problems.append(("archive", str(exc)))
    if problems:
        raise KioskConfigError(path, problems)
    print(f"{path}: ok ({len(config.sites) or 'all'} sites, idle {config.idle_seconds:g} s, "
          f"staff exit {'on' if config.pin_hash else 'OFF: no pin_hash'})")
    return 0


def check_against_archive_ids(sites: list, ids: list[str]) -> list[tuple[str, str]]:
    from viewer.kiosk.config import KioskConfig, check_against_archive

    names = [s for s in sites if isinstance(s, str)]
    return check_against_archive(KioskConfig.model_construct(sites=names), ids)


def hash_pin_interactive() -> int:
    from viewer.kiosk.config import hash_pin

    first = getpass.getpass("staff PIN (4-12 digits): ")
    if getpass.getpass("again: ") != first:
        print("error: the two PINs differ; nothing printed", file=sys.stderr)
        return 1
    try:
        line = hash_pin(first)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f'pin_hash = "{line}"')
    return 0


def run(args: argparse.Namespace) -> int:
    if args.hash_pin:
        return hash_pin_interactive()
    if args.check:
        return check(args.check, args.archive)
    from archive import Archive
    from viewer.kiosk.config import load_config

    config = load_config(args.config)
    archive = _archive(args, config)
    Archive.open(archive)  # a bad path fails here, with the archive's own message
    if args.no_supervisor:
        from viewer.kiosk.app import run as run_ui
        from viewer.kiosk.app import size_arg

        return run_ui(args.config, archive, size_arg(args.size), start=args.start)
    from viewer.kiosk.supervisor import Supervisor

    child = ["--archive", str(archive)]
    if args.config:
        child += ["--config", str(args.config)]
    if args.size:
        child += ["--size", args.size]
    return Supervisor(child, config.hang_seconds, config.nightly_restart).run()
