"""`stadtzeit export SITE KIND --out PATH`: files for teachers, always with licence and credit.

Rendering libraries are imported only when the command runs (the CLI starts without VTK).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from viewer.cli import add_archive_option, archive_path

KINDS = ["still", "before-after", "video", "model", "lesson"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export stills, before/after, videos, models or a lesson pack",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export a site for a lesson, a slide or a 3D printer. Renders offscreen "
                    "from the same scene as the viewer. Every file carries the site's licence, "
                    "attribution and the archive version it came from; the archive is only "
                    "read. SITE may name a version: gasometer@v3.",
        epilog="kinds and their --out:\n"
               "  still         PNG (--size up to 8K, --transparent, --caption)\n"
               "  before-after  a folder: labelled pair, swipe composite, change map\n"
               "  video         .mp4 (H.264) or .gif: --video turntable|epochs\n"
               "  model         .glb .obj .ply .laz .stl .3mf (.stl/.3mf: --scale 1:1000)\n"
               "  lesson        a folder and a ZIP beside it with all of the above\n\n"
               "examples:\n"
               "  stadtzeit export gasometer still --size 4k --preset oblique --out g.png\n"
               "  stadtzeit export gasometer before-after --a 2019-06-15 --b 2024-05-20 "
               "--out ba/\n"
               "  stadtzeit export gasometer video --video turntable --out turn.mp4\n"
               "  stadtzeit export gasometer model --scale 1:2000 --out gasometer.stl\n"
               "  stadtzeit export gasometer lesson --out lesson-gasometer")
    p.add_argument("site", help="site id (optionally @vN for an older version)")
    p.add_argument("kind", choices=KINDS, help="what to export")
    p.add_argument("--out", type=Path, required=True, metavar="PATH",
                   help="file or folder to write (see the kinds below)")
    p.add_argument("--epoch", metavar="ID", help="epoch to show (default: the newest)")
    p.add_argument("--a", metavar="ID", help="before/after: the earlier epoch")
    p.add_argument("--b", metavar="ID", help="before/after: the later epoch")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="image or video size in pixels, e.g. 3840x2160, 4k, 1080p "
                        "(default: 1920x1080; before/after: 1600x1200 per image)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--viewpoint", metavar="NAME", help="a viewpoint saved in the viewer")
    view.add_argument("--preset", metavar="NAME",
                      help="a named camera: oblique (default), north, south, east, west, top")
    p.add_argument("--transparent", action="store_true",
                   help="still: transparent background")
    p.add_argument("--caption", action="store_true",
                   help="still: burn site, epoch and attribution into the image")
    p.add_argument("--no-antialias", action="store_true",
                   help="faster, with jagged edges (no 2×2 supersampling)")
    p.add_argument("--video", choices=["turntable", "epochs"], default="turntable",
                   help="video: an orbit around the site, or a crossfade through the epochs")
    p.add_argument("--fps", type=int, default=30, help="video: frames per second (30)")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="video: length of the turntable in seconds (10)")
    p.add_argument("--lod", type=int, default=0, help="mesh level of detail (0 = full)")
    p.add_argument("--scale", default="1:1000", help="print model: map scale (1:1000)")
    p.add_argument("--min-wall", type=float, default=0.8, metavar="MM",
                   help="print model: thinnest wall the printer makes (0.8 mm)")
    p.add_argument("--base", type=float, default=3.0, metavar="MM",
                   help="print model: base plate thickness (3 mm)")
    p.add_argument("--max-size", type=float, default=250.0, metavar="MM",
                   help="print model: largest printable width or depth (250 mm)")
    p.add_argument("--language", choices=["de", "en"], default="en",
                   help="language of captions and the worksheet (en)")
    add_archive_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from viewer.export.source import ExportSource

    console = Console(stderr=True)
    source = ExportSource(archive_path(args), args.site, language=args.language)
    if source.licence.restricted:
        console.print(f"[bold yellow]{source.licence.warning(args.language)}[/]")
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(args.kind, total=1.0)

        def progress(fraction: float, what: str) -> None:
            bar.update(task, completed=fraction, description=what[:60])

        message = export(source, args, progress)
    print(message)
    print(f"licence: {source.licence.licence} — {source.licence.attribution} "
          f"(from {source.ref}; the archive was not changed)")
    return 0


def export(source, args: argparse.Namespace, progress) -> str:
    """Run one export as the arguments say; a line saying what was written."""
    from viewer.export.files import check_out
    from viewer.export.still import parse_size

    aa = None if args.no_antialias else "ssaa"
    view = dict(viewpoint=args.viewpoint, preset=args.preset)
    kind = args.kind
    if kind == "still":
        from viewer.export.still import export_still

        out = check_out(args.out, (".png",))
        r = export_still(source, out, parse_size(args.size or "1920x1080"),
                         epoch=args.epoch, transparent=args.transparent,
                         burn_caption=args.caption, antialias=aa, lod=args.lod,
                         progress=progress, **view)
        return f"wrote {r.path} ({r.size[0]}×{r.size[1]})"
    if kind == "before-after":
        from viewer.export.before_after import export_before_after

        out = check_out(args.out)
        r = export_before_after(source, out, args.a, args.b,
                                parse_size(args.size or "1600x1200"), lod=args.lod,
                                progress=progress, **view)
        lines = [f"wrote {p}" for p in r.files.values()]
        return "\n".join(lines + ([f"note: {r.note}"] if r.note else []))
    if kind == "video":
        from viewer.export.video import export_transition, export_turntable

        out = check_out(args.out, (".mp4", ".gif"))
        size = parse_size(args.size or "1920x1080")
        if args.video == "turntable":
            r = export_turntable(source, out, args.epoch, size, args.fps, args.seconds,
                                 lod=args.lod, progress=progress, **view)
        else:
            r = export_transition(source, out, None, size, args.fps, lod=args.lod,
                                  antialias=aa, progress=progress, **view)
        return (f"wrote {r.path} ({r.size[0]}×{r.size[1]}, {r.frames} frames, "
                f"{r.duration:.1f} s at {r.fps} fps)")
    if kind == "model":
        from viewer.export import model, print3d

        out = check_out(args.out, model.FORMATS)
        suffix = out.suffix.lower()
        if suffix in (".stl", ".3mf"):
            r = print3d.export_print(source, out, args.epoch, print3d.parse_scale(args.scale),
                                     args.min_wall, args.base, args.max_size, lod=args.lod,
                                     progress=progress)
            return f"wrote {r.path}: {r.describe()}"
        if suffix == ".glb":
            r = model.export_glb(source, out, args.epoch, args.lod, progress)
        elif suffix == ".obj":
            r = model.export_obj(source, out, args.epoch, args.lod, progress)
        elif suffix == ".ply":
            r = model.export_ply(source, out, args.epoch, progress)
        else:
            r = model.export_laz(source, out, args.epoch, progress)
        return "\n".join(f"wrote {p}" for p in r.files)
    from viewer.export.lesson import LessonOptions, export_lesson

    out = check_out(args.out)
    size = parse_size(args.size) if args.size else (1920, 1080)
    r = export_lesson(source, out, LessonOptions(still_size=size, video_size=size,
                                                 fps=args.fps, seconds=args.seconds),
                      progress)
    return "\n".join([f"wrote {r.folder}/ ({len(r.files)} files) and {r.zip}"]
                     + [f"note: {n}" for n in r.notes])
