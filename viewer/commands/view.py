"""`stadtzeit view`: the desktop viewer (Qt and VTK are imported only when it runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from assets_manifest.errors import StadtzeitError
from viewer.cli import add_archive_option, archive_path

COMPARE_MODES = ["single", "side", "overlay", "swipe", "heatmap"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "view", help="open the desktop viewer",
        description="Open the desktop 3D viewer on an archive: sites, epochs on a timeline, "
                    "compare modes (side by side, overlay, swipe, change heatmap), measuring "
                    "and annotations. The archive is opened read-only; only saving a viewpoint "
                    "writes (a new version). Without a screen, run it through xvfb-run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples (on the demo site, made by `stadtzeit demo`):\n"
               "  stadtzeit view gasometer-demo --epoch 2021-09-01\n"
               "  xvfb-run -a -s '-screen 0 1920x1080x24' stadtzeit view gasometer-demo "
               "--compare heatmap --screenshot change.png")
    p.add_argument("site", nargs="?", help="site id to open (default: the only site, if one)")
    p.add_argument("--epoch", metavar="ID", help="epoch to show (default: the newest)")
    p.add_argument("--compare", choices=COMPARE_MODES, default=None,
                   help="start in a compare mode (A = the epoch before the shown one)")
    p.add_argument("--language", choices=["de", "en"], default=None,
                   help="interface language (default: from the system locale)")
    p.add_argument("--screenshot", type=Path, metavar="PNG",
                   help="save the window as PNG once everything is loaded, then exit")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="window size, e.g. 1600x900 (useful with --screenshot)")
    add_archive_option(p)
    p.set_defaults(func=run)


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"error: --size must look like 1600x900, not {text!r}") from None
    return w, h


class UnknownEpoch(StadtzeitError):
    """`--epoch` names an epoch the site does not have."""


def open_viewer(archive: Path, site: str | None = None, epoch: str | None = None, **kw) -> int:
    from archive import Archive
    from archive.errors import SiteNotFound

    store = Archive.open(archive)  # a bad path fails here, with the archive's own message
    # an unknown site or epoch fails now, before a window opens (a screenshot would wait)
    if site is not None:
        ids = store.site_ids()
        if site not in ids:
            raise SiteNotFound(site, ids)
        if epoch is not None:
            epochs = sorted(e.id for e in store.epochs(site))
            if epochs and epoch not in epochs:
                raise UnknownEpoch(f"site {site!r} has no epoch {epoch!r}; its epochs: "
                                   f"{', '.join(epochs)} (choose one with --epoch)")
    from viewer.desktop import run as run_app

    return run_app(archive, site=site, epoch=epoch, **kw)


def run(args: argparse.Namespace) -> int:
    return open_viewer(archive_path(args), args.site, args.epoch, screenshot=args.screenshot,
                       language=args.language, compare=args.compare, size=_size(args.size))
