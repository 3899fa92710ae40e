"""Checks on what the public sees: detectors rerun on products, transients counted in points."""

from __future__ import annotations

import numpy as np

from processing.privacy import images


def check_textures(version) -> dict[str, list[images.Box]]:
    """Faces and plates the detectors still find in the textures of a site version's GLB
    products (logical path -> boxes; empty when none)."""
    from processing.gltf import read_glb

    found: dict[str, list[images.Box]] = {}
    for logical, path in version.files.items():
        if not logical.endswith(".glb"):
            continue
        mesh = read_glb(path)
        if mesh.texture is None:
            continue
        boxes = images.detect(mesh.texture)
        if boxes:
            found[logical] = boxes
    return found


def points_in_boxes(xyz: np.ndarray, boxes) -> np.ndarray:
    """Per box (anything with ``contains(xyz)``), how many of the points lie in it."""
    return np.array([int(b.contains(xyz).sum()) for b in boxes], np.int64)


__all__ = ["check_textures", "points_in_boxes"]
