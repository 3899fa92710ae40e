"""Stories: guided tours of a site as data (no Qt, no VTK, no GL).

A story is a list of stops; each stop says where the camera is, which epoch (or pair of
epochs) is shown and how (a compare mode), and what a visitor reads there, in German and
English, with an optional image. The kiosk, the desktop viewer and VR play the same stories
from this one model; only how a stop is *shown* differs per front-end.

Storage: one JSON file per story in the site's OCFL object, ``stories/<id>.json``, written
as a new archive version through ``archive.writer`` (DESIGN.md: only explicit user actions
write). The document format is ``stadtzeit-story/1``; its JSON Schema, generated from the
pydantic models below, ships as ``viewer/model/schema/story.schema.json``
(regenerate with ``python -m viewer.model.stories``).

Coordinates: the camera is in the site frame (metres from the site origin, z up), like every
other camera in the viewer, so a story survives a change of the site's CRS origin only if
the stored meshes do.

Playing a story (any front-end)::

    story = stories.read_stories(version)[0][0]
    for stop in story.stops:
        model.set_compare_mode(stop.compare); model.set_epoch_a(...); model.set_epoch(...)
        model.set_camera(stop.camera.to_camera())
        show(stop.title.get(lang), stop.text.get(lang), stop.image)

`apply_stop` does exactly that on a `ViewerModel`.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assets_manifest.errors import StadtzeitError
from assets_manifest.models import format_field_path
from assets_manifest.schema import json_schema_document, json_text
from viewer.model.state import Camera, CompareMode, Text, ViewerModel

FORMAT = "stadtzeit-story/1"
FOLDER = "stories"
SCHEMA_PATH = Path(__file__).with_name("schema") / "story.schema.json"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class StoryError(StadtzeitError):
    """A story document is invalid. ``problems``: ``(field_path, reason)`` pairs, where the
    path names the stop, e.g. ``stops[2] (pavilion).title.de``."""

    def __init__(self, name: object, problems: list[tuple[str, str]]):
        self.name = str(name)
        self.problems = problems
        lines = [f"{self.name}: {f}: {r}" if f else f"{self.name}: {r}" for f, r in problems]
        super().__init__("invalid story\n" + "\n".join("  " + line for line in lines)
                         + "\n  fix these fields and save the story again")


# --------------------------------------------------------------------------- the models

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """German and English text; at least one must be given (the other falls back to it)."""

    de: str = Field("", description="German text")
    en: str = Field("", description="English text")

    def get(self, language: str) -> str:
        return Text(self.de, self.en).get(language)

    @model_validator(mode="after")
    def _one_given(self) -> Bilingual:
        if not self.de.strip() and not self.en.strip():
            raise ValueError("give the text in German (de) or English (en), or both")
        return self


class StoryCamera(_Strict):
    """A perspective camera in the site frame (metres, z up)."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    view_angle: float = Field(30.0, gt=1.0, lt=120.0, description="vertical, degrees")

    @field_validator("focal_point")
    @classmethod
    def _apart(cls, focal: tuple[float, float, float], info: Any) -> tuple[float, ...]:
        pos = info.data.get("position")
        if pos is not None and all(abs(a - b) < 1e-6 for a, b in zip(pos, focal, strict=True)):
            raise ValueError("must differ from the position (the camera needs a direction)")
        return focal

    def to_camera(self) -> Camera:
        return Camera(self.position, self.focal_point, self.view_up, self.view_angle)

    @classmethod
    def from_camera(cls, cam: Camera) -> StoryCamera:
        def r(v: Sequence[float]) -> tuple[float, float, float]:
            return tuple(round(float(c), 4) for c in v)  # type: ignore[return-value]
        return cls(position=r(cam.position), focal_point=r(cam.focal_point),
                   view_up=r(cam.view_up), view_angle=round(float(cam.view_angle), 3))


CompareName = Literal["single", "side", "overlay", "swipe", "heatmap"]


class Stop(_Strict):
    """One stop of a tour: a view, the epoch(s) shown and how, and its text."""

    id: str = Field(description="short name, unique in the story: a-z, 0-9, '-', '_'")
    title: Bilingual
    text: Bilingual
    camera: StoryCamera
    epoch: str = Field(description="the epoch shown (B when comparing)")
    epoch_a: str | None = Field(None, description="the earlier epoch A when comparing")
    compare: CompareName = Field("single", description="how the epoch(s) are shown")
    image: str | None = Field(None, description="logical path of an image in the site "
                                                "object, e.g. stories/img/pavilion.jpg")
    duration_s: float = Field(12.0, ge=2.0, le=120.0,
                              description="seconds this stop stays when playing by itself")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError(f"{v!r} is not a usable id: use 1-64 of a-z, 0-9, '-', '_'")
        return v

    @field_validator("epoch_a")
    @classmethod
    def _pair(cls, a: str | None, info: Any) -> str | None:
        if a is not None and a == info.data.get("epoch"):
            raise ValueError("must differ from epoch (A and B are two different scans)")
        return a

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is not None and (not v.lower().endswith(IMAGE_SUFFIXES) or v.startswith("/")
                              or ".." in v.split("/")):
            raise ValueError(f"{v!r}: give a relative path in the site object ending in "
                             + ", ".join(IMAGE_SUFFIXES))
        return v

    @property
    def compare_mode(self) -> CompareMode:
        return CompareMode(self.compare)


class Story(_Strict):
    """A guided tour of one site."""

    format: Literal["stadtzeit-story/1"] = FORMAT
    id: str = Field(description="the story's name, also its file: stories/<id>.json")
    site: str = Field(description="id of the site it tours")
    title: Bilingual
    description: Bilingual | None = None
    stops: list[Stop] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return Stop._id(v)

    @field_validator("stops")
    @classmethod
    def _unique(cls, stops: list[Stop]) -> list[Stop]:
        seen: set[str] = set()
        for s in stops:
            if s.id in seen:
                raise ValueError(f"two stops have the id {s.id!r}: give each its own")
            seen.add(s.id)
        return stops

    @property
    def logical_path(self) -> str:
        return story_path(self.id)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def story_path(story_id: str) -> str:
    return f"{FOLDER}/{story_id}.json"


# --------------------------------------------------------------------------- validation

def parse_story(data: Any, name: str = "story", epochs: Sequence[str] | None = None,
                files: Mapping[str, Any] | None = None) -> Story:
    """Validate a story document; with `epochs` (the site's) and `files` (its logical paths)
    also check that every stop's epochs and image exist. Raises `StoryError` naming every
    problem by stop and field."""
    if not isinstance(data, Mapping):
        raise StoryError(name, [("", f"must be a JSON object, not {type(data).__name__}")])
    try:
        story = Story.model_validate(dict(data))
    except ValidationError as exc:
        raise StoryError(name, [(format_field_path(e["loc"], data), _reason(e))
                                for e in exc.errors(include_url=False)]) from None
    problems = check_against_site(story, data, epochs, files)
    if problems:
        raise StoryError(name, problems)
    return story


def check_against_site(story: Story, data: Any, epochs: Sequence[str] | None,
                       files: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    problems = []
    for i, stop in enumerate(story.stops):
        if epochs is not None:
            known = ", ".join(epochs) or "(none)"
            for key in ("epoch", "epoch_a"):
                value = getattr(stop, key)
                if value is not None and value not in epochs:
                    problems.append((format_field_path(("stops", i, key), data),
                                     f"the site has no epoch {value!r}; its epochs are: {known}"))
        if stop.compare != "single" and stop.epoch_a is None:
            problems.append((format_field_path(("stops", i, "epoch_a"), data),
                             f"compare mode {stop.compare!r} needs the earlier epoch A"))
        if files is not None and stop.image is not None and stop.image not in files:
            problems.append((format_field_path(("stops", i, "image"), data),
                             f"no file {stop.image!r} in the site object; add it first"))
    return problems


def _reason(err: Mapping[str, Any]) -> str:
    error = err.get("ctx", {}).get("error")
    if err["type"] == "value_error" and error is not None:
        return str(error)
    if err["type"] == "missing":
        return "is missing"
    if err["type"] == "extra_forbidden":
        return "is not a story field (spelling?)"
    text = json.dumps(err.get("input"), ensure_ascii=False, default=str)
    return f"{err['msg']} (got {text[:60]})"


# --------------------------------------------------------------------------- the archive

def read_stories(version: Any, epochs: Sequence[str] | None = None
                 ) -> tuple[list[Story], list[StoryError]]:
    """Every story in a site version (`archive.SiteVersion` or the viewer's store protocol),
    sorted by id; a damaged one is reported in the second list and never hides the others."""
    stories, errors = [], []
    for logical in sorted(version.files):
        if not (logical.startswith(FOLDER + "/") and logical.endswith(".json")
                and logical.count("/") == 1):
            continue
        name = f"{getattr(version, 'site', '?')}: {logical}"
        try:
            data = json.loads(Path(version.files[logical]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            errors.append(StoryError(name, [("", f"unreadable JSON: {exc}")]))
            continue
        try:
            story = parse_story(data, name, epochs, version.files)
        except StoryError as exc:
            errors.append(exc)
            continue
        if story_path(story.id) != logical:
            errors.append(StoryError(name, [("id", f"{story.id!r} does not match the file "
                                                   f"name; rename one of them")]))
            continue
        stories.append(story)
    return stories, errors


def save_story(archive: Any, story: Story | Mapping[str, Any], *, message: str | None = None,
               user: str | None = None) -> int:
    """Validate `story` against the site's head version, then store it as
    ``stories/<id>.json`` in a new version; returns the new version number. Nothing is written
    when the story is invalid."""
    data = story.to_json_dict() if isinstance(story, Story) else dict(story)
    site_id = str(data.get("site") or "")
    head = archive.read(site_id)
    site_doc = head.read_json("site.json")
    epochs = [str(e.get("id")) for e in site_doc.get("epochs") or [] if isinstance(e, dict)]
    epochs += sorted({lp.split("/")[1] for lp in head.files if lp.startswith("epochs/")}
                     - set(epochs))
    checked = parse_story(data, f"{site_id}: {story_path(str(data.get('id')))}", epochs,
                          head.files)
    text = json.dumps(checked.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
    with archive.writer(site_id, message=message or f"story: save '{checked.id}'",
                        user=user or _user()) as w:
        w.add_bytes(checked.logical_path, text.encode("utf-8"))
    return w.version


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "viewer"


# --------------------------------------------------------------------------- playing

def apply_stop(model: ViewerModel, stop: Stop) -> None:
    """Show a stop on a viewer model: compare mode, epochs, camera (any front-end)."""
    if model.site is None:
        return
    model.set_compare_mode(stop.compare_mode)
    if stop.epoch_a:
        model.set_epoch_a(stop.epoch_a)
    model.set_epoch(stop.epoch)
    if stop.epoch_a and model.epoch_a != stop.epoch_a:  # set_epoch may have moved A
        model.set_epoch_a(stop.epoch_a)
    model.set_camera(stop.camera.to_camera())


def stop_from_view(model: ViewerModel, stop_id: str, title: Bilingual | None = None,
                   text: Bilingual | None = None) -> Stop:
    """A new stop from what a model shows now ("add current view as a stop")."""
    if model.camera is None or model.epoch is None:
        raise ValueError("open a site and wait for its view before adding a stop")
    comparing = model.compare_mode != CompareMode.SINGLE and model.epoch_a not in (
        None, model.epoch)
    return Stop(id=stop_id, title=title or Bilingual(de=f"Halt {stop_id}", en=f"Stop {stop_id}"),
                text=text or Bilingual(de="", en="…"),
                camera=StoryCamera.from_camera(model.camera), epoch=model.epoch,
                epoch_a=model.epoch_a if comparing else None,
                compare=str(model.compare_mode) if comparing else "single")


# --------------------------------------------------------------------------- schema

def story_json_schema() -> dict[str, Any]:
    return json_schema_document(Story, "stadtzeit story", (
        "A guided tour of one site of a stadtzeit archive: stops with a camera in the site "
        "frame, the epoch or pair of epochs shown, a compare mode, German and English title "
        "and text, and an optional image. Stored as stories/<id>.json in the site's OCFL "
        "object. See docs/KIOSK.md."))


def schema_text() -> str:
    return json_text(story_json_schema())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    print(target)
