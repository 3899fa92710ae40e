"""Stills: the 3D view alone, rendered offscreen at any size up to 8K, with provenance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from viewer.export.images import caption, save_png, to_image
from viewer.export.source import ExportError, ExportSource
from viewer.model.state import Camera
from viewer.render.offscreen import OffscreenRenderer, RenderSizeError, check_size

Progress = Callable[[float, str], None]   # (fraction done, what) — may raise Cancelled


def no_progress(_fraction: float, _what: str) -> None:
    pass


def parse_size(text: str) -> tuple[int, int]:
    """'3840x2160', '4k', '1080p' -> (w, h), checked against the renderer's limits."""
    named = {"720p": (1280, 720), "1080p": (1920, 1080), "hd": (1920, 1080),
             "4k": (3840, 2160), "8k": (7680, 4320)}
    t = text.strip().lower()
    if t in named:
        w, h = named[t]
    else:
        try:
            w, h = (int(v) for v in t.replace("×", "x").split("x"))
        except ValueError:
            raise ExportError(f"--size {text!r}: give WIDTHxHEIGHT in pixels (e.g. 1920x1080) "
                              f"or one of {', '.join(named)}") from None
    return checked_size(w, h)


def checked_size(w: int, h: int) -> tuple[int, int]:
    try:
        return check_size(w, h)
    except RenderSizeError as exc:
        raise ExportError(f"--size: {exc}") from None


def caption_lines(source: ExportSource, epochs: list[str], language: str) -> list[str]:
    s = source.site
    when = " → ".join(epochs)
    return [f"{s.name.get(language)} · {when}",
            f"© {source.licence.attribution} · {source.licence.licence} · {source.ref}"]


@dataclass
class Still:
    path: Path
    size: tuple[int, int]
    camera: Camera


def render_epoch(source: ExportSource, epoch: str, camera: Camera, size: tuple[int, int],
                 transparent: bool = False, antialias: str | None = "ssaa",
                 lod: int = 0) -> np.ndarray:
    with OffscreenRenderer(size, antialias=antialias, transparent=transparent) as r:
        r.set_scene(source.scene(epoch, lod))
        return r.render(camera)


def export_still(source: ExportSource, out: Path, size: tuple[int, int] = (1920, 1080),
                 epoch: str | None = None, camera: Camera | None = None,
                 viewpoint: str | None = None, preset: str | None = None,
                 transparent: bool = False, burn_caption: bool = False,
                 antialias: str | None = "ssaa", lod: int = 0,
                 progress: Progress = no_progress) -> Still:
    """Render one epoch from a camera (given, saved viewpoint or preset) into a PNG."""
    size = checked_size(*size)
    epoch = source.epoch(epoch)
    cam = source.camera(viewpoint, preset, camera, epoch)
    progress(0.1, "rendering")
    img: Image.Image = to_image(render_epoch(source, epoch, cam, size, transparent,
                                             antialias, lod))
    progress(0.8, "writing")
    if burn_caption:
        img = caption(img, caption_lines(source, [epoch], source.language),
                      source.licence.warning(source.language))
        if not transparent:
            img = img.convert("RGB")
    save_png(img, out, source.provenance(epoch), {"Camera": camera_text(cam)})
    progress(1.0, "done")
    return Still(out, size, cam)


def camera_text(cam: Camera) -> str:
    def v(t):
        return " ".join(f"{c:.3f}" for c in t)
    return (f"position {v(cam.position)}; focal point {v(cam.focal_point)}; "
            f"view up {v(cam.view_up)}; view angle {cam.view_angle:.2f}")
