"""2D parts of exported images: captions, labels, legend, scale bar, north arrow, and PNGs that
carry their provenance (iTXt text chunks and an XMP packet)."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from viewer.export.files import atomic_file
from viewer.export.source import Provenance
from viewer.model.change_display import ColourScale, format_length, legend_ends
from viewer.model.scene import diverging_colormap
from viewer.model.state import Camera

INK = (255, 255, 255, 255)
SHADE = (20, 24, 28, 190)


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when the system has it (umlauts, ß, −, →), else Pillow's own font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for candidate in (name, f"/usr/share/fonts/truetype/dejavu/{name}"):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def text_size(img_height: int) -> int:
    return max(11, round(img_height / 42))


def to_image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(arr), "RGBA" if arr.shape[2] == 4 else "RGB")


def caption(img: Image.Image, lines: list[str], warning: str = "",
            below: bool = False, size: int | None = None) -> Image.Image:
    """Burn caption lines (and a licence warning, in amber) into a band along the bottom, or
    into a band added below the image (`below`)."""
    img = img.convert("RGBA")
    size = size or text_size(img.height)
    f, fb = font(size), font(size, bold=True)
    rows = [(line, f, INK) for line in lines if line]
    if warning:
        rows.append((warning, fb, (255, 196, 61, 255)))
    pad = size // 2
    height = sum(size + pad // 2 for _ in rows) + pad * 2
    if below:
        grown = Image.new("RGBA", (img.width, img.height + height), (31, 35, 39, 255))
        grown.paste(img, (0, 0))
        img = grown
    band = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(band)
    d.rectangle([0, img.height - height, img.width, img.height], fill=SHADE)
    y = img.height - height + pad
    for text, fnt, colour in rows:
        d.text((pad * 2, y), fit_text(d, text, fnt, img.width - pad * 4), font=fnt, fill=colour)
        y += size + pad // 2
    return Image.alpha_composite(img, band)


def fit_text(d: ImageDraw.ImageDraw, text: str, fnt, width: int) -> str:
    """`text`, shortened with an ellipsis if it is wider than `width` pixels."""
    if d.textlength(text, font=fnt) <= width:
        return text
    while text and d.textlength(text + "…", font=fnt) > width:
        text = text[:-1]
    return text + "…"


def label(img: Image.Image, text: str, corner: str = "top-left") -> Image.Image:
    """A bold label on a dark plate in a corner (the epoch of each half of a pair)."""
    img = img.convert("RGBA")
    size = round(text_size(img.height) * 1.3)
    fb = font(size, bold=True)
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    w = d.textlength(text, font=fb)
    pad = size // 2
    x = pad if "left" in corner else img.width - w - 3 * pad
    y = pad if "top" in corner else img.height - size - 3 * pad
    d.rectangle([x, y, x + w + 2 * pad, y + size + 2 * pad], fill=SHADE)
    d.text((x + pad, y + pad * 0.7), text, font=fb, fill=INK)
    return Image.alpha_composite(img, layer)


# --------------------------------------------------------------------------- map furniture

def north_direction(camera: Camera) -> tuple[float, float] | None:
    """Grid north (+y of the site frame) as a unit 2D direction on the image (x right, y up),
    or None when the view looks almost straight along it."""
    d = camera.direction
    right = np.cross(d, np.asarray(camera.view_up, float))
    if np.linalg.norm(right) < 1e-9:
        return None
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    north = np.array([0.0, 1.0, 0.0])
    v = np.array([north @ right, north @ up])
    n = float(np.linalg.norm(v))
    return (float(v[0] / n), float(v[1] / n)) if n > 0.15 else None


def north_arrow(img: Image.Image, camera: Camera, language: str = "en") -> Image.Image:
    direction = north_direction(camera)
    if direction is None:
        return img
    img = img.convert("RGBA")
    size = text_size(img.height) * 3
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cx, cy = img.width - size, size * 1.9  # below a corner label
    d.ellipse([cx - size * 0.75, cy - size * 0.75, cx + size * 0.75, cy + size * 0.75],
              fill=SHADE)
    ux, uy = direction[0], -direction[1]          # image y runs down
    px, py = -uy, ux
    tip = (cx + ux * size * 0.55, cy + uy * size * 0.55)
    tail = (cx - ux * size * 0.45, cy - uy * size * 0.45)
    left = (tail[0] + px * size * 0.25, tail[1] + py * size * 0.25)
    right = (tail[0] - px * size * 0.25, tail[1] - py * size * 0.25)
    d.polygon([tip, left, (cx, cy), right], fill=INK)
    f = font(max(10, size // 3), bold=True)
    letter = "N"
    tx, ty = cx + ux * size * 0.62, cy + uy * size * 0.62
    w = d.textlength(letter, font=f)
    d.text((tx - w / 2 + ux * size * 0.1, ty - size / 6 + uy * size * 0.12), letter, font=f,
           fill=INK)
    return Image.alpha_composite(img, layer)


def nice_length(x: float) -> float:
    """The largest 1, 2 or 5 × 10^k at or below x."""
    k = math.floor(math.log10(x))
    for step in (5, 2, 1):
        if step * 10 ** k <= x:
            return float(step * 10 ** k)
    return float(10 ** k)


def scale_bar(img: Image.Image, metres_per_pixel: float, language: str = "en") -> Image.Image:
    """A bar of a round length (about a fifth of the width), bottom left."""
    img = img.convert("RGBA")
    metres = nice_length(img.width / 5 * metres_per_pixel)
    px = metres / metres_per_pixel
    size = text_size(img.height)
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    x, y = size, img.height - size * 2.2
    d.rectangle([x - size / 2, y - size * 1.6, x + px + size / 2, y + size * 0.9], fill=SHADE)
    d.rectangle([x, y, x + px / 2, y + size * 0.35], fill=INK)
    d.rectangle([x + px / 2, y, x + px, y + size * 0.35], outline=INK, width=max(1, size // 8))
    f = font(size)
    d.text((x, y - size * 1.4), format_length(metres, language), font=f, fill=INK)
    return Image.alpha_composite(img, layer)


def legend(img: Image.Image, scale: ColourScale, language: str = "en",
           title: str = "") -> Image.Image:
    """The change colour bar with its ends in plain words and how the scale was chosen, in a
    band added below the image (so nothing of the map is covered)."""
    img = img.convert("RGBA")
    size = text_size(img.height)
    f = font(size)
    pad = size
    band_h = int(size * 6.2)
    out = Image.new("RGBA", (img.width, img.height + band_h), (31, 35, 39, 255))
    out.paste(img, (0, 0))
    d = ImageDraw.Draw(out)
    y = img.height + pad // 2
    if title:
        d.text((pad, y), title, font=font(size, bold=True), fill=INK)
    y += size * 1.4
    bar_w = img.width - 2 * pad
    lut = diverging_colormap(256)
    bar = np.repeat(lut[np.linspace(0, 255, bar_w).astype(int)][None], int(size * 1.1), axis=0)
    out.paste(Image.fromarray(bar, "RGB"), (pad, int(y)))
    y += size * 1.3
    low, high = legend_ends(scale.limit, language)
    d.text((pad, y), low, font=f, fill=INK)
    d.text((img.width - pad - d.textlength(high, font=f), y), high, font=f, fill=INK)
    mid = "0"
    d.text((img.width / 2 - d.textlength(mid, font=f) / 2, y), mid, font=f, fill=INK)
    y += size * 1.4
    d.text((pad, y), fit_text(d, scale.explain(language), f, bar_w), font=f,
           fill=(200, 205, 210, 255))
    return out


# --------------------------------------------------------------------------- PNG + metadata

XMP_NS = "https://stadtzeit.example/ns/export/1.0/"


def xmp_packet(meta: dict[str, str]) -> str:
    """An XMP packet with Dublin Core and XMP Rights fields, and every provenance field in
    stadtzeit's own namespace."""
    e = {k: escape(v) for k, v in meta.items()}
    own = "".join(f"   <sz:{k}>{v}</sz:{k}>\n" for k, v in e.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"\n'
        f'    xmlns:sz="{XMP_NS}">\n'
        f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e.get("Title", "")}'
        '</rdf:li></rdf:Alt></dc:title>\n'
        f'   <dc:creator><rdf:Seq><rdf:li>{e.get("Attribution", "")}</rdf:li></rdf:Seq>'
        '</dc:creator>\n'
        f'   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{e.get("Copyright", "")}'
        '</rdf:li></rdf:Alt></dc:rights>\n'
        f'   <dc:source>{e.get("ArchiveVersion", "")}</dc:source>\n'
        f'   <xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">'
        f'{e.get("Licence", "")}</rdf:li></rdf:Alt></xmpRights:UsageTerms>\n'
        f'{own}'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>')


def png_metadata(provenance: Provenance, extra: dict[str, str] | None = None) -> dict[str, str]:
    meta = provenance.as_dict() | (extra or {})
    # the PNG specification's own keywords, so generic tools show them
    return meta | {"Author": meta["Attribution"], "Source": meta["ArchiveVersion"],
                   "Description": meta["Title"]}


def save_png(img: Image.Image | np.ndarray, dest: Path, provenance: Provenance,
             extra: dict[str, str] | None = None) -> Path:
    """Write `img` as PNG with its provenance in iTXt chunks and XMP, atomically."""
    if isinstance(img, np.ndarray):
        img = to_image(img)
    meta = png_metadata(provenance, extra)
    info = PngInfo()
    for key, value in meta.items():
        info.add_itxt(key, value)
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(meta))
    with atomic_file(dest) as tmp:
        img.save(tmp, format="PNG", pnginfo=info, optimize=False, compress_level=6)
    return dest
