"""`stadtzeit vr`: a site in a VR headset over OpenXR (pyopenxr and PyOpenGL are imported only
when it runs, so the CLI starts without them).

`python -m viewer.commands.vr SITE ...` is the same command without loading the others (the
XR test root carries only what VR mode needs).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from viewer.cli import add_archive_option, archive_path
from viewer.vr.runtime import runtime_available, runtime_configured

__all__ = ["register", "run", "runtime_available"]

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vr", help="open a site in a VR headset (OpenXR)",
        description="Stand in a site at life size or look at it as a table-top miniature, in "
                    "an OpenXR headset (SteamVR, Monado, ...). Teleport with an arc, turn in "
                    "30° snaps, step through the epochs, switch the change heatmap on and off. "
                    "Without a runtime it says how to get one and exits with code 2.",
        epilog="examples: stadtzeit vr gasometer\n"
               "          stadtzeit vr gasometer --epoch 2021-04-01 --start miniature --heatmap\n"
               "          stadtzeit vr gasometer --frames 60 --screenshot left-eye.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("site", nargs="?", help="site id (default: the only site, if one)")
    p.add_argument("--epoch", metavar="ID", help="epoch shown first (default: the newest)")
    p.add_argument("--lod", type=int, metavar="K",
                   help="mesh level of detail for every epoch (default: the finest within "
                        "--face-budget)")
    p.add_argument("--face-budget", type=int, default=None, metavar="N",
                   help="most triangles per epoch's mesh when choosing the LOD "
                        "(default 2000000)")
    p.add_argument("--start", choices=["life-size", "miniature"], default="life-size",
                   help="start standing in the site (default) or above it as a miniature")
    p.add_argument("--heatmap", action="store_true",
                   help="start with the change heatmap on (where change data exists)")
    p.add_argument("--story", metavar="ID",
                   help="play this guided tour of the site (a museum station): next/back "
                        "step through its stops, and it plays by itself when nobody does")
    p.add_argument("--view", type=_view, metavar="PX,PY,PZ,FX,FY,FZ",
                   help="start where this camera looks (site frame: position, focal point; "
                        "the desktop viewer's Open in VR passes its view)")
    p.add_argument("--msaa", type=int, default=4, metavar="N",
                   help="anti-aliasing samples per pixel (default 4; 1: none)")
    p.add_argument("--stereo", choices=["auto", "multiview", "two-pass"], default=None,
                   help="multiview: both eyes in one pass (GL_OVR_multiview2); two-pass: one "
                        "eye after the other; default auto (multiview where the driver has "
                        "it; STADTZEIT_VR_STEREO sets the default)")
    p.add_argument("--seated", action="store_true",
                   help="a seated station: show the site from a standing adult's eye height "
                        "whatever the visitor's (also for wheelchair users and children)")
    p.add_argument("--reset-after", type=float, default=60.0, metavar="SECONDS",
                   help="return to the start after the headset has been off this long "
                        "(default 60; 0: never)")
    p.add_argument("--language", choices=["de", "en"], default=None,
                   help="language of the hand panel (default: from the system locale)")
    p.add_argument("--graphics", choices=["auto", "egl", "glx"], default="auto",
                   help="OpenGL binding: EGL (XR_MNDX_egl_enable, no X needed) or GLX "
                        "(XR_KHR_opengl_enable); default EGL where the runtime offers it")
    p.add_argument("--frames", type=int, metavar="N",
                   help="end the session after N drawn frames (for tests and screenshots)")
    p.add_argument("--screenshot", type=Path, metavar="PNG",
                   help="save the left eye of the last frame as PNG")
    add_archive_option(p)
    p.set_defaults(func=run)


def _view(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        v = []
    if len(v) != 6:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give six numbers, the camera position and focal point in the site "
            "frame, e.g. --view=-60,-60,80,0,0,0")
    return tuple(v[:3]), tuple(v[3:])


def _language(value: str | None) -> str:
    if value:
        return value
    lang = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG")
    return "de" if (lang or "").lower().startswith("de") else "en"


def run(args: argparse.Namespace) -> int:
    from viewer.vr.multiview import requested_mode
    from viewer.vr.session import probe, unavailable

    requested_mode(args.stereo)     # a bad STADTZEIT_VR_STEREO fails before anything starts
    if sys.platform.startswith("linux") and not runtime_configured():
        raise unavailable("no runtime is configured: no XR_RUNTIME_JSON and no "
                          "openxr/1/active_runtime.json")
    # a runtime that is configured but not running (Monado without its service) fails only
    # at xrCreateInstance: ask for the headset now, before loading a large site
    probe()
    from viewer.vr.app import run_vr
    from viewer.vr.scene_data import FACE_BUDGET, load_scene

    scene = load_scene(archive_path(args), args.site, lod=args.lod,
                       face_budget=args.face_budget or FACE_BUDGET)
    scene.index(args.epoch)   # an unknown epoch fails before the headset shows anything
    story = scene.story(args.story) if args.story else None   # so does an unknown story
    lods = ", ".join(f"{e.id} lod{e.lod} ({e.n_faces:,} triangles"
                     f"{', change' if e.change else ''})" for e in scene.epochs)
    print(f"{scene.site_id}: {lods}", file=sys.stderr)
    result = run_vr(scene, epoch=args.epoch, frames=args.frames, screenshot=args.screenshot,
                    graphics=args.graphics, mode=args.start, heatmap=args.heatmap,
                    language=_language(args.language), seated=args.seated,
                    reset_after_s=args.reset_after or None, story=story,
                    start_view=args.view, msaa=args.msaa, stereo=args.stereo)
    work = sorted(result.work_ms)
    median = work[len(work) // 2] if work else 0.0
    print(f"{result.runtime} / {result.system} ({result.graphics}, {result.space} space, "
          f"{result.eye_size[0]}x{result.eye_size[1]} per eye, {result.stereo} stereo): "
          f"{result.frames} frames drawn, "
          f"median {median:.1f} ms of work per frame; states {' > '.join(result.states)}",
          file=sys.stderr)
    if args.screenshot is not None:
        if Path(args.screenshot).is_file():
            print(f"left eye saved to {args.screenshot}", file=sys.stderr)
        else:
            print("no frame was drawn, so no screenshot was saved", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """`stadtzeit vr ...` on its own (the XR root's minimal venv lacks the other commands'
    dependencies), with the CLI's error handling."""
    from viewer.cli import dispatch

    parser = argparse.ArgumentParser(prog="stadtzeit")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    register(parser.add_subparsers(dest="command"))
    return dispatch(parser.parse_args(["vr", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
