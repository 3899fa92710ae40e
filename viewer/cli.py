"""The ``stadtzeit`` command: wires the layers together.

Each subcommand lives in ``viewer/commands/<name>.py`` with ``register(subparsers)``; Qt, VTK and
OpenXR are imported only inside the commands that open windows, so ingest runs headless.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from assets_manifest.errors import StadtzeitError

COMMANDS = ["manifest", "archive", "ingest", "compare", "demo", "view", "vr", "kiosk"]


def default_archive() -> Path:
    """``$STADTZEIT_ARCHIVE``, else ``<user data dir>/stadtzeit/archive``."""
    env = os.environ.get("STADTZEIT_ARCHIVE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir
    return Path(user_data_dir("stadtzeit", appauthor=False)) / "archive"


def add_archive_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archive", type=Path, default=None, metavar="PATH",
        help="archive folder (default: $STADTZEIT_ARCHIVE or the user data folder)")


def archive_path(args: argparse.Namespace) -> Path:
    return args.archive if getattr(args, "archive", None) else default_archive()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stadtzeit",
        description="stadtzeit: a 3D and VR archive of urban places over time.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"viewer.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"viewer.commands.{name}":
                continue  # command not built in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return dispatch(args)


def dispatch(args: argparse.Namespace) -> int:
    """Run a parsed command: logging as asked, user errors as a message and an exit code."""
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except StadtzeitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
