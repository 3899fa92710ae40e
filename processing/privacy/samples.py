"""Licence-clean images with known faces and number plates, for the demo, tests and benchmarks.

- Faces: the astronaut portrait that scikit-image ships (``skimage.data.astronaut``, Eileen
  Collins, a NASA photograph in the public domain) — the only photograph of a person that a
  package from the registries ships with a licence that allows it.  ``FACE_BOX`` is its face,
  labelled by hand (forehead to chin, cheek to cheek).
- Number plates: rendered here in the German format (black characters on white, a blue EU
  band on the left, 520 × 110 mm) with the font Pillow bundles (``ImageFont.load_default``).
- Backgrounds: scikit-image's sample textures (brick, gravel, grass, ...).

``labelled_set(seed)`` composes them into a labelled test set: every image comes with the true
boxes of what it shows, and nothing else in it is a face or a plate.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

import numpy as np

from processing.privacy.images import Box

FACE_BOX = (172, 70, 103, 105)           # x, y, w, h in skimage.data.astronaut()
PLATE_ASPECT = 520 / 110
BACKGROUNDS = ("brick", "gravel", "grass", "rocket", "coffee", "camera_free")


@cache
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def head(width: int) -> tuple[np.ndarray, Box]:
    """The astronaut's head and shoulders scaled so that the face is ``width`` px wide; the
    face's box in the returned image."""
    from PIL import Image

    x, y, w, h = FACE_BOX
    # context around the face (hair, neck), as a person in a photo has it
    x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
    x1, y1 = min(512, x + w + w // 2), min(512, y + h + h // 2)
    crop = astronaut()[y0:y1, x0:x1]
    s = width / w
    size = (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s)))
    img = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS))
    return img, Box(round((x - x0) * s), round((y - y0) * s), round(w * s), round(h * s), "face")


def plate_text(rng: np.random.Generator) -> str:
    """A made-up German registration: district, letters, digits (e.g. 'OB XK 482')."""
    letters = string.ascii_uppercase
    district = "".join(rng.choice(list(letters), size=int(rng.integers(1, 4))))
    middle = "".join(rng.choice(list(letters), size=int(rng.integers(1, 3))))
    return f"{district} {middle} {int(rng.integers(1, 9999))}"


def plate(width: int, text: str) -> np.ndarray:
    """A rendered number plate ``width`` px wide (RGB uint8)."""
    from PIL import Image, ImageDraw, ImageFont

    big = Image.new("RGB", (520, 110), (245, 245, 240))
    draw = ImageDraw.Draw(big)
    draw.rectangle([0, 0, 519, 109], outline=(10, 10, 10), width=6)
    draw.rectangle([6, 6, 46, 103], fill=(0, 51, 153))
    font = ImageFont.load_default(size=78)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    scale = min(1.0, 450 / max(right - left, 1))
    if scale < 1.0:
        font = ImageFont.load_default(size=int(78 * scale))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((55 + (460 - (right - left)) / 2 - left, (110 - (bottom - top)) / 2 - top), text,
              fill=(15, 15, 15), font=font)
    height = max(1, round(width / PLATE_ASPECT))
    return np.asarray(big.resize((width, height), Image.LANCZOS))


@cache
def background(name: str, size: tuple[int, int]) -> np.ndarray:
    """A sample texture of scikit-image, tiled/cropped to ``size`` (h, w), RGB uint8."""
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=2)
    img = img[..., :3]
    reps = (-(-size[0] // img.shape[0]), -(-size[1] // img.shape[1]), 1)
    return np.ascontiguousarray(np.tile(img, reps)[:size[0], :size[1]])


@dataclass
class Sample:
    """One labelled image."""

    name: str
    image: np.ndarray
    boxes: list[Box]


def _paste(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    canvas[y:y + patch.shape[0], x:x + patch.shape[1]] = patch[..., :3]


def _vary(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure, contrast, noise and JPEG compression as photos of public space have them."""
    import io

    from PIL import Image

    gain = rng.uniform(0.7, 1.15)
    offset = rng.uniform(-15, 20)
    out = np.clip(img.astype(np.float64) * gain + offset + rng.normal(0, 3, img.shape), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(out.astype(np.uint8)).save(buf, format="JPEG",
                                               quality=int(rng.integers(60, 92)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def labelled_set(seed: int = 0, *, face_widths=(24, 28, 32, 40, 56, 80, 120),
                 plate_widths=(60, 72, 90, 120, 160, 240)) -> list[Sample]:
    """Images with one to three faces and plates each, on sample backgrounds, some turned by
    90° (as charts in a texture atlas are) or mirrored; boxes are the true ones."""
    rng = np.random.default_rng(seed)
    samples: list[Sample] = []
    names = [b for b in BACKGROUNDS if b != "camera_free"]
    for i, fw in enumerate(face_widths):
        for j, pw in enumerate(plate_widths[i % 2::2]):
            canvas = background(names[(i + j) % len(names)], (360, 480)).copy()
            boxes: list[Box] = []
            img, fb = head(fw)
            if rng.random() < 0.5:
                img = img[:, ::-1]
                fb = Box(img.shape[1] - fb.x - fb.w, fb.y, fb.w, fb.h, "face")
            x = int(rng.integers(0, max(1, 240 - img.shape[1])))
            y = int(rng.integers(0, max(1, 360 - img.shape[0])))
            _paste(canvas, img[:360, :240], x, y)
            boxes.append(Box(x + fb.x, y + fb.y, fb.w, fb.h, "face"))
            p = plate(pw, plate_text(rng))
            # a plate on a car body: a grey panel around it
            panel = np.full((p.shape[0] * 3, min(240, pw + 40), 3), rng.integers(40, 200),
                            np.uint8)
            px = 240 + int(rng.integers(0, 240 - panel.shape[1] + 1))
            py = int(rng.integers(0, 360 - panel.shape[0]))
            _paste(canvas, panel, px, py)
            ox, oy = px + (panel.shape[1] - pw) // 2, py + p.shape[0]
            _paste(canvas, p, ox, oy)
            boxes.append(Box(ox, oy, p.shape[1], p.shape[0], "plate"))
            canvas = _vary(canvas, rng)
            k = int(rng.choice([0, 0, 1, 3]))
            if k:
                h, w = canvas.shape[:2]
                canvas = np.ascontiguousarray(np.rot90(canvas, k))
                boxes = [_rotate_box(b, k, (h, w)) for b in boxes]
            samples.append(Sample(f"s{seed}-f{fw}-p{pw}-r{k}", canvas, boxes))
    return samples


def _rotate_box(b: Box, k: int, shape: tuple[int, int]) -> Box:
    """A box of an (h, w) image in ``np.rot90(image, k)``."""
    h, w = shape
    if k == 1:
        return Box(b.y, w - b.x - b.w, b.h, b.w, b.kind)
    if k == 3:
        return Box(h - b.y - b.h, b.x, b.h, b.w, b.kind)
    return Box(w - b.x - b.w, h - b.y - b.h, b.w, b.h, b.kind)


def _turned(c: float, r: float, k: int, w: int, h: int) -> tuple[float, float]:
    """Pixel (c, r) of a (h, w) image at its place in ``np.rot90(image, k)``."""
    return {0: (c, r), 1: (r, w - c), 2: (w - c, h - r), 3: (h - r, c)}[k]


def textured_atlas(seed: int = 0, *, ground_every: int = 4, texel_m: float = 0.004,
                   step: int = 1, mirror_every: int = 0):
    """A textured mesh whose atlas holds the labelled set of ``seed`` chart by chart, and the
    true boxes in the atlas.

    Each image is a chart: a wall (a vertical quad) whose up in the world is the image's up
    before ``labelled_set`` turned it, so the chart lies in the atlas in that turn — or, every
    ``ground_every``-th one, a piece of ground (a horizontal quad, no up).  Charts sit in a
    grid of 480 px cells (black between them); ``texel_m`` metres per texel (4 mm: the set's
    faces, 24–120 px, are then 10–48 cm wide and its plates 24–96 cm, life size or an oblique
    photo's stretch of it — on the ground the search looks for nothing larger).  Returns
    ``(Mesh, boxes)``; the mesh is in a z-up frame (``frame="site"``).  ``step`` takes every
    step-th image of the set only (a smaller atlas for tests).  Every ``mirror_every``-th wall
    (0: none) lies in the atlas mirrored, its UVs mirrored with it, as a modeller's flipped
    UVs leave a chart: the wall still shows the image as written.
    """
    from processing.types import Mesh

    items = labelled_set(seed)[::step]
    cols = 4
    rows = -(-len(items) // cols)
    atlas = np.zeros((rows * 480, cols * 480, 3), np.uint8)
    height, width = atlas.shape[:2]
    vertices, faces, uv, boxes = [], [], [], []
    for i, s in enumerate(items):
        k = int(s.name.rsplit("-r", 1)[1])
        ax, ay = (i % cols) * 480, (i // cols) * 480
        th, tw = s.image.shape[:2]
        ground = bool(ground_every) and i % ground_every == ground_every - 1
        mirror = bool(mirror_every) and not ground and i % mirror_every == mirror_every - 1
        atlas[ay:ay + th, ax:ax + tw] = s.image[:, ::-1] if mirror else s.image
        boxes += [Box(ax + (tw - b.x - b.w if mirror else b.x), b.y + ay, b.w, b.h, b.kind)
                  for b in s.boxes]
        h, w = (th, tw) if k in (0, 2) else (tw, th)          # the image before its turn
        x0, y0 = 30.0 * (i % cols), 30.0 * (i // cols)
        base = len(vertices)
        for c, r in ((0, 0), (w, 0), (w, h), (0, h)):
            if ground:
                vertices.append((x0 + c * texel_m, y0 - r * texel_m, 0.0))
            else:
                vertices.append((x0 + c * texel_m, y0, (h - r) * texel_m))
            tc, tr = _turned(c, r, k, w, h)
            uv.append(((ax + (tw - tc if mirror else tc)) / width, (ay + tr) / height))
        faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    mesh = Mesh(np.asarray(vertices, np.float64), np.asarray(faces, np.int64),
                frame="site", uv=np.asarray(uv, np.float32), texture=atlas)
    return mesh, boxes


def poster(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, list[Box]]:
    """An advertising poster (``width`` × ``height`` px, RGB) with three faces and a car's
    number plate, and their true boxes: what the demo paints onto a facade."""
    rng = np.random.default_rng(seed)
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = (225, 205, 120)
    boxes: list[Box] = []
    fw = max(24, int(height * 0.32))
    for i in range(3):
        img, fb = head(fw)
        if i == 1:
            img = img[:, ::-1]
            fb = Box(img.shape[1] - fb.x - fb.w, fb.y, fb.w, fb.h, "face")
        x = int(i * width * 0.2) + 4
        y = max(0, height - img.shape[0])
        w = min(img.shape[1], width - x)
        hh = min(img.shape[0], height - y)
        canvas[y:y + hh, x:x + w] = img[:hh, :w]
        boxes.append(Box(x + fb.x, y + fb.y, fb.w, fb.h, "face"))
    pw = min(max(60, int(width * 0.22)), width)      # a small texture gets a small plate
    p = plate(pw, plate_text(rng))
    pw = p.shape[1]
    cx = max(0, min(int(width * 0.7), width - pw))
    cy = max(0, min(int(height * 0.35), height - p.shape[0]))
    canvas[cy - p.shape[0]:cy + 2 * p.shape[0], cx - 20:cx + pw + 20] = (160, 20, 30)   # car
    canvas[cy:cy + p.shape[0], cx:cx + pw] = p
    boxes.append(Box(cx, cy, pw, p.shape[0], "plate"))
    return canvas, boxes


__all__ = ["FACE_BOX", "Sample", "astronaut", "background", "head", "labelled_set", "plate",
           "plate_text", "poster", "textured_atlas"]
