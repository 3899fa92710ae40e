"""What a visitor points at, as a card to read: an annotation, or a region of change with its
caption in the public vocabulary (`viewer.model.change_display`). Plain code, no GL."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from viewer.model.change_display import format_area, region_caption, word
from viewer.vr.interaction import Pointed
from viewer.vr.panel import CardState
from viewer.vr.scene_data import ChangeField, Marker

#: metres: a marker this close to the pointed spot is the one meant (at least)
MARKER_REACH = 4.0
#: degrees: a marker this close to the pointing ray is meant even behind a wall (markers are
#: drawn over the model, so the visitor sees them there)
MARKER_ANGLE = 4.0


def _year(epoch_id: str) -> str:
    return epoch_id[:4]


def card_at(pointed: Pointed, epoch: str, markers: Sequence[Marker],
            change: ChangeField | None, language: str,
            reach: float = MARKER_REACH) -> CardState | None:
    """The card for a pointing ray (site frame): the annotation of this epoch nearest the ray
    within `MARKER_ANGLE` or within `reach` of the spot it meets, else — with the heatmap's
    comparison given — the region of change at that spot."""
    shown = [m for m in markers if m.applies_to(epoch)]
    if shown:
        pos = np.array([m.position for m in shown], np.float64)
        to = pos - pointed.origin
        along = to @ pointed.direction / np.linalg.norm(pointed.direction)
        cos = along / np.maximum(np.linalg.norm(to, axis=1), 1e-9)
        angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        near = (np.linalg.norm(pos - pointed.point, axis=1) if pointed.point is not None
                else np.full(len(shown), np.inf))
        ok = (along > 0) & ((angle <= MARKER_ANGLE) | (near <= reach))
        if ok.any():
            m = shown[int(np.argmin(np.where(ok, angle, np.inf)))]
            return CardState(m.title.get(language), m.text.get(language) if m.text else "")
    if change is None or not change.regions or pointed.point is None:
        return None
    p = pointed.point
    best_region, best_d = None, np.inf
    for r in change.regions:
        if r.centroid is None:
            continue
        d = float(np.hypot(r.centroid[0] - p[0], r.centroid[1] - p[1]))
        if d <= r.size / 2 + reach and d < best_d:
            best_region, best_d = r, d
    if best_region is None:
        return None
    r = best_region
    name = _region_name(r.centroid, r.size, markers, language)
    caption = region_caption(r.volume, r.sign, _year(change.a), _year(change.b), name, language,
                             partial=r.partial)
    key = "added" if r.sign > 0 else "removed"
    title = name or word(key, language).capitalize()
    details = f" ({format_area(r.area, language)})" if r.area else ""
    return CardState(title, caption + details, f"{change.a} → {change.b}")


def _region_name(centre: Sequence[float], size: float, markers: Sequence[Marker],
                 language: str) -> str | None:
    """An annotation inside the region names it (as on the desktop)."""
    for m in markers:
        if np.hypot(m.position[0] - centre[0], m.position[1] - centre[1]) <= size / 2:
            return m.title.get(language)
    return None
