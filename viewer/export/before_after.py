"""Before/after: two epochs from one camera as a labelled pair and a swipe composite, and the
stored change between them as a map (top view, true scale) with its legend in plain words, a
scale bar and a north arrow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from viewer.export.files import atomic_dir
from viewer.export.images import (
    caption,
    label,
    legend,
    north_arrow,
    save_png,
    scale_bar,
    to_image,
)
from viewer.export.source import ExportError, ExportSource
from viewer.export.still import Progress, camera_text, caption_lines, checked_size, no_progress
from viewer.model.change_display import region_caption
from viewer.model.state import Camera
from viewer.render.offscreen import OffscreenRenderer


@dataclass
class BeforeAfter:
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)   # "pair", "swipe", "change"
    note: str = ""


def default_pair(source: ExportSource) -> tuple[str, str]:
    """The widest stored change (first to last epoch when stored), else first and last."""
    ids = source.site.epoch_ids
    if len(ids) < 2:
        raise ExportError(f"{source.site.id}: before/after needs two epochs; the site has "
                          f"only {ids[0]}")
    changes = sorted(source.site.changes, key=lambda c: (ids.index(c.a) - ids.index(c.b))
                     if c.a in ids and c.b in ids else 0)
    return (changes[0].a, changes[0].b) if changes else (ids[0], ids[-1])


def export_before_after(source: ExportSource, out: Path, a: str | None = None,
                        b: str | None = None, size: tuple[int, int] = (1600, 1200),
                        camera: Camera | None = None, viewpoint: str | None = None,
                        preset: str | None = None, lod: int = 0,
                        progress: Progress = no_progress) -> BeforeAfter:
    """Write `out/` with before-after-pair.png, before-after-swipe.png and (when a change
    product is stored for a→b) before-after-change.png."""
    size = checked_size(*size)
    if (a is None) != (b is None):
        raise ExportError("give both --a and --b (the earlier and the later epoch), or neither")
    a, b = (source.epoch(a), source.epoch(b)) if a else default_pair(source)
    if a == b:
        raise ExportError(f"--a and --b are both {a}: choose two different epochs")
    cam = source.camera(viewpoint, preset, camera, b)
    lang = source.language
    prov = source.provenance(a, b)
    result = BeforeAfter(Path(out))
    with atomic_dir(Path(out)) as tmp:
        progress(0.05, f"rendering {a}")
        with OffscreenRenderer(size) as r:
            r.set_scene(source.scene(a, lod))
            img_a = r.render(cam)
            progress(0.3, f"rendering {b}")
            r.set_scene(source.scene(b, lod))
            img_b = r.render(cam)
        extra = {"Camera": camera_text(cam)}
        warning = source.licence.warning(lang)
        lines = caption_lines(source, [a, b], lang)

        pair = Image.new("RGBA", (size[0] * 2, size[1]))
        pair.paste(label(to_image(img_a), a), (0, 0))
        pair.paste(label(to_image(img_b), b), (size[0], 0))
        pair = caption(north_arrow(pair, cam), lines, warning).convert("RGB")
        result.files["pair"] = save_png(pair, tmp / "before-after-pair.png", prov, extra)

        split = size[0] // 2
        swipe = np.concatenate([img_a[:, :split], img_b[:, split:]], axis=1)
        sw = to_image(swipe).convert("RGBA")
        d = ImageDraw.Draw(sw)
        d.rectangle([split - 2, 0, split + 1, size[1]], fill=(255, 255, 255, 255))
        sw = label(label(sw, f"◀ {a}", "top-left"), f"{b} ▶", "top-right")
        sw = caption(north_arrow(sw, cam), lines, warning).convert("RGB")
        result.files["swipe"] = save_png(sw, tmp / "before-after-swipe.png", prov, extra)

        progress(0.6, "rendering the change map")
        change = source.change(a, b, lod)
        if change is None:
            result.note = (f"no change product is stored for {a} → {b}, so there is no change "
                           f"map; compute one with `stadtzeit compare {source.site.id} {a} {b}`")
        else:
            img = change_map(source, change, size)
            result.files["change"] = save_png(img, tmp / "before-after-change.png", prov,
                                              {"ColourScale": change.scale().explain("en")})
        progress(1.0, "done")
    result.files = {k: Path(out) / p.name for k, p in result.files.items()}
    return result


def top_view(bounds: tuple[float, ...], size: tuple[int, int]) -> tuple[Camera, float]:
    """A camera looking straight down, north up, and the parallel scale that fits the site."""
    x0, x1, y0, y1, z0, z1 = bounds
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
    aspect = size[0] / size[1]
    half = max((y1 - y0) / 2, (x1 - x0) / 2 / aspect) * 1.04
    height = max(z1 - z0, 1.0) * 3 + half
    cam = Camera(tuple(centre + [0, 0, height]), tuple(centre), (0.0, 1.0, 0.0), 30.0)
    return cam, half


def change_map(source: ExportSource, change, size: tuple[int, int]) -> Image.Image:
    """The change as a map: heat colours from above at true scale, legend, bar and arrow."""
    lang = source.language
    scene = source.heat_scene(change)
    mesh = scene.layers[0].mesh
    cam, half = top_view(mesh.bounds, size)
    with OffscreenRenderer(size) as r:
        r.set_scene(scene)
        img = to_image(r.render(cam, parallel_scale=half))
    img = scale_bar(north_arrow(img, cam, lang), 2 * half / size[1], lang)
    a_year, b_year = change.a[:4], change.b[:4]
    title = (f"Was sich zwischen {change.a} und {change.b} verändert hat" if lang == "de"
             else f"What changed between {change.a} and {change.b}")
    size_px = round(size[1] / 42)
    img = legend(img, change.scale(), lang, title)
    regions = sorted((r for r in change.regions if r.volume),
                     key=lambda r: -abs(r.volume or 0))[:4]
    lines = [region_caption(r.volume, r.sign, a_year, b_year, None, lang, partial=r.partial)
             for r in regions]
    lines.append(f"© {source.licence.attribution} · {source.licence.licence} · {source.ref}")
    return caption(img, lines, source.licence.warning(lang), below=True,
                   size=max(11, size_px)).convert("RGB")
