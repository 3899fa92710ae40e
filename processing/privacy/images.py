"""Faces and number plates in images: find them, and blur them so they cannot be recovered.

The detectors are OpenCV's cascade classifiers that ship inside the ``opencv-python-headless``
wheel (``cv2.data.haarcascades``): the frontal-face cascade ``alt2`` (on the labelled set it
found every face from 24 px with far fewer false alarms than ``default``, and one cascade
costs half of two; see benchmarks/bench_privacy.py) and the number-plate cascade
(``haarcascade_russian_plate_number``, which finds the dark-on-light characters of EU plates
too).  Nothing is downloaded at run time.

An image is searched in ``Region``s, each in its own quarter turns: a photo (or a texture whose
layout is unknown) as a whole, upright and turned by 90° both ways (``rotations``); a texture
atlas chart by chart, each only in the turn that puts the world's up at the top
(``processing.privacy.charts``).  A found box is blurred *irreversibly*: the region (plus a
small margin) is reduced to a mosaic of a few cells — the information that would identify a face
or a plate is gone, not just hidden — then smoothed so that the product does not show a hard
block pattern.  After blurring, the detectors run again wherever their result can have changed
(``_recheck``); anything still found is blurred again with coarser cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

FACE_CASCADES = ("haarcascade_frontalface_alt2.xml",)
PLATE_CASCADE = "haarcascade_russian_plate_number.xml"
MIN_FACE = 20            # px: smaller faces carry too little to identify anyone
MIN_PLATE_WIDTH = 60     # px: the plate cascade's own window (60 × 20); narrower ones are
#                          unreadable anyway
WINDOW = {"face": (20, 20), "plate": (60, 20)}   # the cascades' windows (w, h) in px
SCALE_STEP = {"face": 1.1, "plate": 1.05}
NEIGHBOURS = {"face": 4, "plate": 5}
#: the re-check after blurring splits the window sizes at this many times the cascade's window:
#: smaller windows are searched only near what was blurred, larger ones over the whole region
RECHECK_SPLIT = {"face": 4.0, "plate": 3.0}
FACE_CELLS = 4           # mosaic cells across a blurred face
PLATE_CELLS = 4          # mosaic cells across a blurred plate (fewer than its characters)
MARGIN = {"face": 0.12, "plate": 0.05}   # of the box's size, added on every side before
#                                         blurring (plate boxes come out larger than plates)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixel coordinates of the image it was found in."""

    x: int
    y: int
    w: int
    h: int
    kind: str            # "face" or "plate"

    @property
    def area(self) -> int:
        return self.w * self.h

    def grown(self, margin: float, shape: tuple[int, ...]) -> Box:
        dx, dy = int(round(self.w * margin)), int(round(self.h * margin))
        x0, y0 = max(0, self.x - dx), max(0, self.y - dy)
        x1, y1 = min(shape[1], self.x + self.w + dx), min(shape[0], self.y + self.h + dy)
        return Box(x0, y0, x1 - x0, y1 - y0, self.kind)

    def to_list(self) -> list:
        return [self.x, self.y, self.w, self.h, self.kind]


@dataclass(frozen=True, eq=False)
class Region:
    """A rectangle of an image searched in the quarter turns ``turns`` (``np.rot90``'s k);
    where ``keep`` (h, w) is False the texels are searched as black (another chart's, searched
    in its own turn; the cascades reject flat windows in their first stage).  ``widest``: per
    kind, the widest box in px that can be one there (a life-size face or plate on the ground;
    absent: any size)."""

    x: int
    y: int
    w: int
    h: int
    turns: tuple[int, ...]
    keep: np.ndarray | None = None
    widest: dict[str, float] = field(default_factory=dict)

    def clipped(self, x0: int, y0: int, x1: int, y1: int) -> Region | None:
        """The part of this region inside the rectangle [x0, x1) × [y0, y1), or None."""
        a, b = max(self.x, x0), max(self.y, y0)
        c, d = min(self.x + self.w, x1), min(self.y + self.h, y1)
        if c <= a or d <= b:
            return None
        keep = None if self.keep is None else \
            self.keep[b - self.y:d - self.y, a - self.x:c - self.x]
        return Region(a, b, c - a, d - b, self.turns, keep, self.widest)


@cache
def _cascade(name: str):
    import cv2

    path = Path(cv2.data.haarcascades) / name
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        from processing.errors import ProcessingError
        raise ProcessingError(f"cannot load the detector {path}; reinstall opencv-python-headless "
                              "(its wheel ships the cascade files)")
    return classifier


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    img = np.ascontiguousarray(image[..., :3] if image.ndim == 3 else image)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def _run(gray: np.ndarray, kind: str, min_scale: float = 1.0, max_scale: float = 0.0
         ) -> list[tuple[int, int, int, int]]:
    """Boxes found in ``gray`` by the kind's cascade(s), with windows from ``min_scale`` to
    ``max_scale`` (0: no limit) times the cascade's window."""
    ww, wh = WINDOW[kind]
    smallest = MIN_FACE if kind == "face" else MIN_PLATE_WIDTH
    lo = max(smallest / ww, min_scale)
    if gray.shape[0] < wh * lo or gray.shape[1] < ww * lo:
        return []
    sizes = {"minSize": (int(ww * lo), int(wh * lo))}
    if max_scale:
        sizes["maxSize"] = (int(np.ceil(ww * max_scale)), int(np.ceil(wh * max_scale)))
    names = FACE_CASCADES if kind == "face" else (PLATE_CASCADE,)
    found = []
    for name in names:
        hits = _cascade(name).detectMultiScale(gray, scaleFactor=SCALE_STEP[kind],
                                               minNeighbors=NEIGHBOURS[kind], **sizes)
        found.extend(tuple(int(v) for v in b) for b in hits)
    return found


def _unrotate(b: tuple[int, int, int, int], k: int, shape: tuple[int, int]
              ) -> tuple[int, int, int, int]:
    """A box found in ``np.rot90(gray, k)`` in the coordinates of ``gray`` (shape h, w)."""
    x, y, w, h = b
    H, W = shape
    if k == 0:
        return x, y, w, h
    if k == 1:   # rot90 counter-clockwise: rotated (x, y) <- original (W-1-y', x')
        return W - y - h, x, h, w
    if k == 3:   # clockwise
        return y, H - x - w, h, w
    return W - x - w, H - y - h, w, h


def _merge(boxes: list[tuple[int, int, int, int]], kind: str) -> list[Box]:
    """One box per object: boxes overlapping by more than half of the smaller one are joined
    (the two face cascades and the rotations find the same face several times)."""
    out: list[list[int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: -b[2] * b[3]):
        for o in out:
            ix = max(0, min(x + w, o[0] + o[2]) - max(x, o[0]))
            iy = max(0, min(y + h, o[1] + o[3]) - max(y, o[1]))
            if ix * iy > 0.5 * min(w * h, o[2] * o[3]):
                x0, y0 = min(x, o[0]), min(y, o[1])
                x1, y1 = max(x + w, o[0] + o[2]), max(y + h, o[1] + o[3])
                o[:] = [x0, y0, x1 - x0, y1 - y0]
                break
        else:
            out.append([x, y, w, h])
    return [Box(*o, kind) for o in out]


def _search(gray: np.ndarray, kind: str, regions: list[Region], min_scale: float = 1.0,
            max_scale: float = 0.0) -> list[tuple[int, int, int, int]]:
    """Unmerged boxes of ``kind`` in every region, in every turn of it (image coordinates)."""
    boxes = []
    for r in regions:
        top = max_scale
        if kind in r.widest:
            top = min(top or np.inf, r.widest[kind] / WINDOW[kind][0])
            if top < max(min_scale, (MIN_FACE if kind == "face" else MIN_PLATE_WIDTH)
                         / WINDOW[kind][0]):
                continue                  # nothing of this kind can be large enough here
        crop = gray[r.y:r.y + r.h, r.x:r.x + r.w]
        if r.keep is not None and not r.keep.all():
            # other charts' texels black, as an atlas' padding: the chart's border then looks
            # as it does where it meets the padding (a mid grey made the pavilion's mullions a
            # "plate" on the demo atlas)
            crop = np.where(r.keep, crop, np.uint8(0))
        for k in r.turns:
            g = np.ascontiguousarray(np.rot90(crop, k)) if k else crop
            for b in _run(g, kind, min_scale, top):
                x, y, w, h = _unrotate(b, k, crop.shape)
                boxes.append((x + r.x, y + r.y, w, h))
    return boxes


def whole(image: np.ndarray, rotations: tuple[int, ...] = (0, 1, 3)) -> list[Region]:
    """The whole image as one region, searched in ``rotations``."""
    return [Region(0, 0, int(image.shape[1]), int(image.shape[0]), tuple(rotations))]


def detect(image: np.ndarray, *, faces: bool = True, plates: bool = True,
           rotations: tuple[int, ...] = (0, 1, 3),
           regions: list[Region] | None = None) -> list[Box]:
    """Faces and number plates in an RGB(A) or grey uint8 image: in ``regions`` if given,
    else in the whole image turned by each of ``rotations`` (quarter turns, ``np.rot90``'s
    k)."""
    gray = _gray(image)
    regions = whole(gray, rotations) if regions is None else regions
    found: list[Box] = []
    for kind in _kinds(faces, plates):
        found.extend(_merge(_search(gray, kind, regions), kind))
    return found


def _kinds(faces: bool, plates: bool) -> list[str]:
    return [k for k, on in (("face", faces), ("plate", plates)) if on]


def _recheck(image: np.ndarray, changed: list[Box], regions: list[Region], kinds: list[str]
             ) -> list[Box]:
    """What ``detect`` finds in ``image`` after the boxes ``changed`` were blurred in it.

    Only windows that overlap a changed box can answer differently from the search before, so
    the windows smaller than ``RECHECK_SPLIT`` times the cascade's window are searched in a
    rectangle around each changed box, wide enough to hold every such window touching it, and
    the larger windows — a few, cheap — over the whole of every region a changed box touches.
    The two size ranges overlap by half a split so that one object's hits are not cut in two.
    Turns a region is not searched in are left out here too: an upright face or plate cannot
    lie in them, and the mosaic fades into the image, leaving no edge to chase (``blur_boxes``).
    """
    gray = _gray(image)
    found: list[Box] = []
    for kind in kinds:
        split = RECHECK_SPLIT[kind]
        reach = int(np.ceil(1.5 * split * max(WINDOW[kind])))
        near = _union_rects([(b.x - reach, b.y - reach, b.x + b.w + reach, b.y + b.h + reach)
                             for b in changed])
        boxes = []
        for r in regions:
            if not any(r.clipped(b.x, b.y, b.x + b.w, b.y + b.h) for b in changed):
                continue
            parts = [p for rect in near if (p := r.clipped(*rect)) is not None]
            boxes += _search(gray, kind, parts, max_scale=1.5 * split)
            boxes += _search(gray, kind, [r], min_scale=split)
        found.extend(_merge(boxes, kind))
    return found


def _union_rects(rects: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Overlapping rectangles (x0, y0, x1, y1) joined into their bounding rectangles until
    none overlap."""
    out = [list(r) for r in rects]
    joined = True
    while joined:
        joined = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    joined = True
                    break
            if joined:
                break
    return [tuple(r) for r in out]


def _mosaic(region: np.ndarray, cells: int) -> np.ndarray:
    import cv2

    h, w = region.shape[:2]
    cw = max(1, cells)
    ch = max(1, int(round(cells * h / max(w, 1))))
    small = cv2.resize(region, (cw, ch), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    sigma = max(w / cw, h / ch) / 3.0
    return cv2.GaussianBlur(big, (0, 0), sigmaX=sigma, sigmaY=sigma)


def _ramp(b: Box, g: Box) -> np.ndarray:
    """Per pixel of ``g`` (``b`` grown by its margin, clipped to the image): 1 over ``b``,
    falling linearly to 0 across the margin, 0 at its outer edge."""
    m = MARGIN[b.kind]
    rx, ry = max(1.0, b.w * m), max(1.0, b.h * m)
    xs, ys = g.x + np.arange(g.w) + 0.5, g.y + np.arange(g.h) + 0.5
    ax = 1.0 - np.maximum(np.maximum(b.x - xs, xs - (b.x + b.w)), 0.0) / rx
    ay = 1.0 - np.maximum(np.maximum(b.y - ys, ys - (b.y + b.h)), 0.0) / ry
    return np.clip(np.minimum(ax[None, :], ay[:, None]), 0.0, 1.0).astype(np.float32)


def blur_boxes(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of ``image`` with every box reduced to a smoothed mosaic, blended into the
    image across its ``MARGIN``: a hard edge between mosaic and image is a contrast step that
    the plate cascade took for a plate turned on its side, round after round of re-checks."""
    out = np.array(image, copy=True)
    for b in boxes:
        g = b.grown(MARGIN[b.kind], out.shape)
        if g.w < 2 or g.h < 2:
            continue
        cells = FACE_CELLS if b.kind == "face" else PLATE_CELLS
        region = np.ascontiguousarray(out[g.y:g.y + g.h, g.x:g.x + g.w])
        a = _ramp(b, g)
        if region.ndim == 3:
            a = a[..., None]
        mixed = a * _mosaic(region, cells) + (1.0 - a) * region
        out[g.y:g.y + g.h, g.x:g.x + g.w] = np.round(mixed).astype(out.dtype)
    return out


@dataclass
class Anonymised:
    """What ``anonymise`` did to one image (boxes stay with the restricted record only)."""

    image: np.ndarray
    boxes: list[Box]

    def counts(self) -> dict[str, int]:
        return {"faces": sum(b.kind == "face" for b in self.boxes),
                "plates": sum(b.kind == "plate" for b in self.boxes)}

    def blurred_pixels(self) -> int:
        mask = np.zeros(self.image.shape[:2], bool)
        for b in self.boxes:
            g = b.grown(MARGIN[b.kind], self.image.shape)
            mask[g.y:g.y + g.h, g.x:g.x + g.w] = True
        return int(mask.sum())


def anonymise(image: np.ndarray, *, faces: bool = True, plates: bool = True,
              rotations: tuple[int, ...] = (0, 1, 3), regions: list[Region] | None = None,
              max_rounds: int = 6) -> Anonymised:
    """Find and blur faces and plates (in ``regions``, else in the whole image turned by each
    of ``rotations``); then search again wherever the blurring can have changed the answer and
    blur what is found there with the coarser mosaic (a blurred head with its hair can still
    pass for a face at a larger scale).  When that finds nothing more, the regions that were
    blurred in are searched once more as ``detect`` searches them (the local re-check samples
    positions and scales from its own crops, which can miss what the whole region's sampling
    finds); anything found starts the local re-checks again.  At most ``max_rounds``
    searches.  An image where nothing was found is searched once."""
    regions = whole(image, rotations) if regions is None else regions
    kinds = _kinds(faces, plates)
    boxes = detect(image, faces=faces, plates=plates, regions=regions)
    out = blur_boxes(image, boxes)
    found = list(boxes)
    blurred = [b.grown(MARGIN[b.kind], out.shape) for b in boxes]
    again, verified, searches = boxes, not boxes, 1
    while searches < max_rounds and (again or not verified):
        if again:
            changed = [b.grown(MARGIN[b.kind], out.shape) for b in again]
            again = _recheck(out, changed, regions, kinds)
            verified = False
        else:
            touched = [r for r in regions
                       if any(r.clipped(b.x, b.y, b.x + b.w, b.y + b.h) for b in blurred)]
            again = detect(out, faces=faces, plates=plates, regions=touched)
            verified = True
        searches += 1
        out = blur_boxes(out, [Box(b.x, b.y, b.w, b.h, "plate") for b in again])
        blurred += [b.grown(MARGIN[b.kind], out.shape) for b in again]
        found += [b for b in again if not any(_overlaps(b, f) for f in found)]
    return Anonymised(out, found)


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


__all__ = ["Anonymised", "Box", "Region", "anonymise", "blur_boxes", "detect", "whole"]
