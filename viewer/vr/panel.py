"""The hand panel: a small image held above the left controller that says where and when you
are — site, epoch and its date, life size or miniature, the heatmap's scale — in German or
English. Drawn with Pillow (no Qt in the VR process), redrawn only when its text changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viewer.model.change_display import ColourScale, format_length
from viewer.model.scene import diverging_colormap

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 640, 600
#: metres: the panel's width in the hand (its height follows the image's aspect)
PANEL_WIDTH = 0.20

_TEXT = {
    "de": {"epoch": "Epoche", "life-size": "Lebensgröße", "miniature": "Miniatur",
           "change": "Veränderung seit", "no-change": "keine Veränderungsdaten",
           "heatmap-off": "Veränderung: aus", "significant": "nur signifikante Änderungen",
           "colours": "blau: abgesenkt/entfernt · rot: angehoben/hinzugekommen"},
    "en": {"epoch": "Epoch", "life-size": "Life size", "miniature": "Miniature",
           "change": "Change since", "no-change": "no change data",
           "heatmap-off": "Change: off", "significant": "significant change only",
           "colours": "blue: lowered/removed · red: raised/added"},
}
_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
          "/usr/share/fonts/dejavu/DejaVuSans.ttf",
          "/usr/share/fonts/TTF/DejaVuSans.ttf")


@dataclass(frozen=True)
class PanelState:
    """Everything the panel shows; equal states give equal images (and no re-upload)."""

    site: str
    epoch: str
    epoch_number: int          # 1-based
    epoch_count: int
    mode: str                  # "life-size" or "miniature"
    heatmap: bool = False
    change_from: str | None = None   # epoch the heatmap compares with
    limit: float | None = None       # metres at either end of the colour scale
    note: str = ""
    language: str = "de"
    significant_only: bool = False
    scale: ColourScale | None = None   # how the limit was chosen (stated under the bar)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONTS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)   # Pillow >= 10.1: its own scalable font
    except TypeError:
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> str:
    """`text`, shortened with an ellipsis until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def render_panel(state: PanelState, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The panel as (H, W, 4) sRGB bytes with alpha (translucent dark background)."""
    t = _TEXT.get(state.language, _TEXT["en"])
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, width - 1, height - 1), radius=height // 12,
                        fill=(20, 24, 30, 225), outline=(255, 255, 255, 90), width=3)
    x, y = width // 16, height // 14
    title, body, small = _font(width // 14), _font(width // 19), _font(width // 25)

    def line(text: str, font, fill=(255, 255, 255, 255), gap: float = 1.35) -> None:
        nonlocal y
        d.text((x, y), _fit(d, text, font, width - 2 * x), font=font, fill=fill)
        y += int(font.size * gap) if hasattr(font, "size") else 24

    line(state.site, title)
    line(f"{t['epoch']} {state.epoch_number}/{state.epoch_count}: {state.epoch}", body)
    line(t.get(state.mode, state.mode), body, fill=(200, 220, 255, 255))
    if state.heatmap and state.limit:
        line(f"{t['change']} {state.change_from or '?'}", small, fill=(230, 230, 230, 255))
        if state.significant_only:
            line(t["significant"], small, fill=(255, 230, 150, 255))
        bar_w, bar_h = width - 2 * x, width // 22
        lut = diverging_colormap(bar_w)
        bar = np.repeat(np.concatenate([lut, np.full((bar_w, 1), 255, np.uint8)], 1)[None],
                        bar_h, axis=0)
        img.paste(Image.fromarray(bar, "RGBA"), (x, y))
        y += bar_h + height // 50
        low = format_length(-state.limit, state.language)
        high = format_length(state.limit, state.language, signed=True)
        d.text((x, y), low, font=small, fill=(255, 255, 255, 255))
        d.text((width - x, y), high, font=small, fill=(255, 255, 255, 255), anchor="ra")
        d.text((width // 2, y), "0", font=small, fill=(255, 255, 255, 255), anchor="ma")
        y += int(width / 18)
        for text in _wrap(d, t["colours"], small, width - 2 * x):
            line(text, small, fill=(230, 230, 230, 255), gap=1.2)
        if state.scale is not None:
            for text in _wrap(d, state.scale.explain(state.language), small, width - 2 * x):
                line(text, small, fill=(190, 190, 190, 255), gap=1.2)
    elif state.heatmap:
        line(t["no-change"], small, fill=(255, 200, 120, 255))
    else:
        line(t["heatmap-off"], small, fill=(180, 180, 180, 255))
    if state.note:
        line(state.note, small, fill=(255, 200, 120, 255))
    return np.asarray(img, np.uint8).copy()


CARD_WIDTH, CARD_HEIGHT = 1024, 640
#: metres: a card's width where it stands, about 1.4 m in front of the visitor
CARD_METRES = 0.9


@dataclass(frozen=True)
class CardState:
    """A text card: a story stop's title and text, or an annotation's."""

    title: str
    text: str
    footer: str = ""            # e.g. "Stop 2/6 · next: A" or the story's title
    image: Path | None = None   # a story stop's picture (PNG, JPEG, WebP), right of the text

#: share of a card's width that a picture may take (the text keeps the rest)
CARD_IMAGE_SHARE = 0.42


@lru_cache(maxsize=4)
def _picture(path: Path, longest: int) -> Image.Image | None:
    """A stop's picture as RGBA, at most `longest` pixels a side; None (logged, naming the
    file) when it cannot be read: a broken picture never stops a tour."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (longest, longest))    # JPEG: decode at a reduced size
            im = im.convert("RGBA")
            im.thumbnail((longest, longest), Image.Resampling.LANCZOS)
            return im
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("story picture %s cannot be shown: %s (replace it with a PNG or JPEG "
                    "in the site object)", path, exc)
        return None


def render_card(state: CardState, width: int = CARD_WIDTH,
                height: int = CARD_HEIGHT) -> np.ndarray:
    """The card as (H, W, 4) sRGB bytes: large light text on a dark, opaque ground
    (contrast well above WCAG AA), word-wrapped; what does not fit ends with an ellipsis.
    With an image, the picture stands right of the text, fitted into its box whole."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    # opaque: blending in linear light would lift the dark ground towards the sky behind
    d.rounded_rectangle((0, 0, width - 1, height - 1), radius=height // 14,
                        fill=(16, 20, 26, 255), outline=(150, 160, 175, 255), width=4)
    x, y = width // 18, height // 14
    title, body, small = _font(width // 16), _font(width // 26), _font(width // 34)
    d.text((x, y), _fit(d, state.title, title, width - 2 * x), font=title,
           fill=(255, 255, 255, 255))
    y += int(title.size * 1.5) if hasattr(title, "size") else 60
    bottom = height - (int(small.size * 2.2) if state.footer else height // 14)
    text_width = width - 2 * x
    picture = _picture(state.image, max(width, height)) if state.image is not None else None
    if picture is not None:
        box_w, box_h = int(width * CARD_IMAGE_SHARE), bottom - y
        scale = min(box_w / picture.width, box_h / picture.height)
        size = (max(int(picture.width * scale), 1), max(int(picture.height * scale), 1))
        fitted = picture.resize(size, Image.Resampling.LANCZOS)
        left = width - x - box_w + (box_w - size[0]) // 2
        img.alpha_composite(fitted, (left, y + (box_h - size[1]) // 2))
        text_width -= box_w + x // 2
    step = int(body.size * 1.35) if hasattr(body, "size") else 30
    lines = _wrap(d, state.text, body, text_width)
    room = max((bottom - y) // step, 1)
    if len(lines) > room:
        lines = lines[:room]
        lines[-1] = _fit(d, lines[-1] + " …", body, text_width)
    for text in lines:
        d.text((x, y), text, font=body, fill=(235, 235, 235, 255))
        y += step
    if state.footer:
        d.text((x, height - int(small.size * 1.8)), _fit(d, state.footer, small, width - 2 * x),
               font=small, fill=(180, 200, 230, 255))
    return np.asarray(img, np.uint8).copy()
