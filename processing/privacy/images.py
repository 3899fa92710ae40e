"""Faces and number plates in images: find them, and blur them so they cannot be recovered.

The detectors are OpenCV's cascade classifiers that ship inside the ``opencv-python-headless``
wheel (``cv2.data.haarcascades``): the frontal-face cascade ``alt2`` (on the labelled set it
found every face from 24 px with far fewer false alarms than ``default``, and one cascade
costs half of two; see benchmarks/bench_privacy.py) and the number-plate cascade
(``haarcascade_russian_plate_number``, which finds the dark-on-light characters of EU plates
too).  Nothing is downloaded at run time.

Texture atlases hold their charts in any orientation, so each image is searched upright and
turned by 90° both ways (``rotations``).  A found box is blurred *irreversibly*: the region
(plus a small margin) is reduced to a mosaic of a few cells — the information that would
identify a face or a plate is gone, not just hidden — then smoothed so that the product does not
show a hard block pattern.  After blurring, the detectors run again on the whole image;
anything still found is blurred again with coarser cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

FACE_CASCADES = ("haarcascade_frontalface_alt2.xml",)
PLATE_CASCADE = "haarcascade_russian_plate_number.xml"
MIN_FACE = 20            # px: smaller faces carry too little to identify anyone
MIN_PLATE_WIDTH = 40     # px: narrower plates are unreadable
FACE_CELLS = 5           # mosaic cells across a blurred face
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


def _run(gray: np.ndarray, kind: str) -> list[tuple[int, int, int, int]]:
    if kind == "face":
        found = []
        for name in FACE_CASCADES:
            hits = _cascade(name).detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4,
                                                   minSize=(MIN_FACE, MIN_FACE))
            found.extend(tuple(int(v) for v in b) for b in hits)
        return found
    hits = _cascade(PLATE_CASCADE).detectMultiScale(
        gray, scaleFactor=1.05, minNeighbors=5, minSize=(MIN_PLATE_WIDTH, MIN_PLATE_WIDTH // 4))
    return [tuple(int(v) for v in b) for b in hits]


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


def detect(image: np.ndarray, *, faces: bool = True, plates: bool = True,
           rotations: tuple[int, ...] = (0, 1, 3)) -> list[Box]:
    """Faces and number plates in an RGB(A) or grey uint8 image; ``rotations`` are the
    quarter turns (``np.rot90``'s k) searched besides upright."""
    gray = _gray(image)
    kinds = [k for k, on in (("face", faces), ("plate", plates)) if on]
    found: list[Box] = []
    for kind in kinds:
        boxes = []
        for k in rotations:
            g = np.ascontiguousarray(np.rot90(gray, k)) if k else gray
            boxes.extend(_unrotate(b, k, gray.shape) for b in _run(g, kind))
        found.extend(_merge(boxes, kind))
    return found


def _mosaic(region: np.ndarray, cells: int) -> np.ndarray:
    import cv2

    h, w = region.shape[:2]
    cw = max(1, cells)
    ch = max(1, int(round(cells * h / max(w, 1))))
    small = cv2.resize(region, (cw, ch), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    sigma = max(w / cw, h / ch) / 3.0
    return cv2.GaussianBlur(big, (0, 0), sigmaX=sigma, sigmaY=sigma)


def blur_boxes(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of ``image`` with every box (grown by its ``MARGIN``) reduced to a smoothed
    mosaic."""
    out = np.array(image, copy=True)
    for b in boxes:
        g = b.grown(MARGIN[b.kind], out.shape)
        if g.w < 2 or g.h < 2:
            continue
        cells = FACE_CELLS if b.kind == "face" else PLATE_CELLS
        region = np.ascontiguousarray(out[g.y:g.y + g.h, g.x:g.x + g.w])
        out[g.y:g.y + g.h, g.x:g.x + g.w] = _mosaic(region, cells)
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
              rotations: tuple[int, ...] = (0, 1, 3), max_rounds: int = 5) -> Anonymised:
    """Find and blur faces and plates; then search the result again and blur what is found
    there with the coarser mosaic (a blurred head with its hair can still pass for a face at a
    larger scale), until nothing is found or after ``max_rounds`` searches.  An image where
    nothing was found is searched once."""
    boxes = detect(image, faces=faces, plates=plates, rotations=rotations)
    out = blur_boxes(image, boxes)
    found = list(boxes)
    again = boxes
    for _ in range(max_rounds - 1):
        if not again:
            break
        again = detect(out, faces=faces, plates=plates, rotations=rotations)
        out = blur_boxes(out, [Box(b.x, b.y, b.w, b.h, "plate") for b in again])
        found += [b for b in again if not any(_overlaps(b, f) for f in found)]
    return Anonymised(out, found)


def _overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


__all__ = ["Anonymised", "Box", "anonymise", "blur_boxes", "detect"]
