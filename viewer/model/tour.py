"""A story written from a list of known changes (the demo's ground truth, truth.json).

Each change becomes a stop that looks at it from the south-west and shows the two epochs
it happened between, with a caption in the shared public vocabulary (change_display).
Used by `stadtzeit demo` to ship a story with the demo site; works for any truth document
of the same shape (`processing.demo.truth.truth_document`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from viewer.model.change_display import region_caption
from viewer.model.state import Camera
from viewer.model.stories import Bilingual, Stop, Story, StoryCamera

# what a feature label is called for the public (label -> (de, en))
THINGS = {"pavilion": ("Pavillon", "pavilion"), "tree": ("Baum", "tree"),
          "building": ("Satteldachhaus", "gabled house"), "earthwork": ("Erdhügel", "earth mound"),
          "gasometer": ("Gasometer", "gasometer")}
# how it changed (kind -> (de, en) title patterns)
TITLES = {"built": ("Neu: %s", "New: %s"), "removed": ("Verschwunden: %s", "Gone: %s"),
          "planted": ("Gepflanzt: %s", "Planted: %s"), "felled": ("Gefällt: %s", "Felled: %s"),
          "earthworks": ("Aufgeschüttet: %s", "Heaped up: %s")}


def _view_of(centroid: Any, bbox: Mapping[str, Any] | None) -> StoryCamera:
    c = np.asarray(centroid, np.float64)
    size = 20.0
    if bbox:
        size = float(np.linalg.norm(np.asarray(bbox["max"]) - np.asarray(bbox["min"]))) or size
    dist = max(size * 3.5, 80.0)
    d = np.array([-0.45, -0.8, 0.55])
    d /= np.linalg.norm(d)
    return StoryCamera.from_camera(Camera(tuple(c + d * dist), tuple(c)))


def story_from_truth(truth: Mapping[str, Any], site_bounds: tuple[float, ...] | None = None,
                     story_id: str = "what-changed") -> Story:
    """A tour of every change between consecutive epochs of a truth document."""
    epochs = list(truth["epochs"])
    consecutive = {(a, b) for a, b in zip(epochs, epochs[1:], strict=False)}
    bounds = site_bounds or (-200.0, 200.0, -200.0, 200.0, 0.0, 120.0)
    overview = StoryCamera.from_camera(Camera.fit(bounds))
    first, last = epochs[0], epochs[-1]
    stops = [Stop(
        id="overview", camera=overview, epoch=first,
        title=Bilingual(de=f"Der Ort {first[:4]}", en=f"The place in {first[:4]}"),
        text=Bilingual(de=f"So sah es hier {first[:4]} aus. Zwischen {first[:4]} und "
                          f"{last[:4]} wurde der Ort {len(epochs)}-mal vermessen.",
                       en=f"This is how it looked in {first[:4]}. Between {first[:4]} and "
                          f"{last[:4]} the place was scanned {len(epochs)} times."))]
    for comp in truth["comparisons"]:
        a, b = comp["from_epoch"], comp["to_epoch"]
        if (a, b) not in consecutive:
            continue
        for ch in comp["changes"]:
            thing = THINGS.get(ch["label"], (ch["label"], ch["label"]))
            title = TITLES.get(ch["kind"], ("%s", "%s"))
            sign = 1 if ch["sign"] == "added" else -1
            volume = ch.get("volume_2p5d_m3") or ch.get("volume_m3")
            de = region_caption(volume, sign, a[:4], b[:4], thing[0], "de")
            en = region_caption(volume, sign, a[:4], b[:4], thing[1].capitalize(), "en")
            area = ch.get("area_m2")
            if area:
                de += f"; Grundfläche etwa {round(area):,} m²".replace(",", ".")
                en += f"; footprint about {round(area):,} m²"
            # a building shows best by swiping between the scans; trees and earthworks are
            # subtler, the change colours find them
            mode = "swipe" if ch["label"] in ("pavilion", "building") else "heatmap"
            stops.append(Stop(
                id=str(ch["id"])[:64], camera=_view_of(ch["centroid"], ch.get("bbox")),
                epoch=b, epoch_a=a, compare=mode,
                title=Bilingual(de=title[0] % thing[0], en=title[1] % thing[1]),
                text=Bilingual(de=de + ".", en=en + ".")))
    stops.append(Stop(
        id="today", camera=overview, epoch=last,
        title=Bilingual(de=f"Der Ort {last[:4]}", en=f"The place in {last[:4]}"),
        text=Bilingual(de="Tippen Sie auf „Was hat sich verändert?“, um alle Änderungen "
                          "farbig zu sehen.",
                       en="Tap “What changed?” to see every change in colour.")))
    n = len(stops) - 2
    return Story(id=story_id, site=str(truth["site"]),
                 title=Bilingual(de="Was sich verändert hat", en="What changed here"),
                 description=Bilingual(
                     de=f"Ein Rundgang durch {n} Veränderungen von {first[:4]} bis {last[:4]}.",
                     en=f"A walk through {n} changes from {first[:4]} to {last[:4]}."),
                 stops=stops)


def turntable(camera: Camera, seconds: float, degrees_per_second: float = 6.0) -> Camera:
    """A slow turn about the focal point (the attract loop's turntable)."""
    return camera.orbit(math.fmod(seconds * degrees_per_second, 360.0))
