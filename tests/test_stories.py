"""Stories: the renderer-neutral model, its schema, validation naming stop and field, and
storage as a new archive version (real OCFL archive on disk)."""

from __future__ import annotations

import copy
import json

import pytest
from viewer_fixtures import E1, E2, SITE, build_archive

from viewer.model.state import Camera, CompareMode, ViewerModel
from viewer.model.store import site_info
from viewer.model.stories import (
    SCHEMA_PATH,
    StoryError,
    apply_stop,
    parse_story,
    read_stories,
    save_story,
    schema_text,
    stop_from_view,
)


def story_doc() -> dict:
    cam = {"position": [-60.0, -80.0, 60.0], "focal_point": [0.0, 0.0, 0.0]}
    return {"format": "stadtzeit-story/1", "id": "tour", "site": SITE,
            "title": {"de": "Rundgang", "en": "Tour"},
            "stops": [
                {"id": "start", "title": {"de": "Anfang", "en": "Start"},
                 "text": {"de": "Hier stand die Halle.", "en": "The hall stood here."},
                 "camera": cam, "epoch": E1},
                {"id": "gone", "title": {"en": "Gone"}, "text": {"de": "Weg."},
                 "camera": cam, "epoch": E2, "epoch_a": E1, "compare": "swipe"}]}


def test_schema_file_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_errors_name_the_stop_and_field():
    doc = story_doc()
    doc["stops"][1]["title"] = {"de": "", "en": ""}
    doc["stops"][1]["compare"] = "sideways"
    doc["stops"][0]["camera"]["focal_point"] = doc["stops"][0]["camera"]["position"]
    doc["stops"][0]["colour"] = "red"
    with pytest.raises(StoryError) as err:
        parse_story(doc, "tour.json")
    fields = [f for f, _ in err.value.problems]
    assert "stops[1] (gone).title" in fields
    assert "stops[1] (gone).compare" in fields
    assert "stops[0] (start).camera.focal_point" in fields
    assert "stops[0] (start).colour" in fields
    assert "tour.json" in str(err.value)


def test_site_checks_epochs_pairs_and_images():
    doc = story_doc()
    doc["stops"][0]["epoch"] = "1999-01-01"
    doc["stops"][1]["image"] = "stories/img/hall.jpg"
    del doc["stops"][1]["epoch_a"]
    with pytest.raises(StoryError) as err:
        parse_story(doc, "t", epochs=[E1, E2], files={})
    text = str(err.value)
    assert "stops[0] (start).epoch: the site has no epoch '1999-01-01'" in text
    assert "stops[1] (gone).epoch_a: compare mode 'swipe' needs" in text
    assert "stops[1] (gone).image: no file" in text


def test_save_and_read_back_as_new_version(tmp_path):
    built = build_archive(tmp_path)
    before = built.archive.read(SITE).number
    version = save_story(built.archive, story_doc(), user="pytest")
    assert version == before + 1
    v = built.archive.read(SITE)
    assert "stories/tour.json" in v.files
    stories, errors = read_stories(v, [E1, E2])
    assert errors == [] and [s.id for s in stories] == ["tour"]
    s = stories[0]
    assert s.stops[1].compare_mode == CompareMode.SWIPE
    assert s.stops[1].title.get("de") == "Gone"            # falls back to the other language
    assert "stories/tour.json" not in built.archive.read(SITE, before).files


def test_invalid_story_writes_nothing(tmp_path):
    built = build_archive(tmp_path)
    before = built.archive.read(SITE).number
    doc = story_doc()
    doc["stops"][0]["epoch"] = "2030-01-01"
    with pytest.raises(StoryError):
        save_story(built.archive, doc, user="pytest")
    assert built.archive.read(SITE).number == before


def test_damaged_story_does_not_hide_others(tmp_path):
    built = build_archive(tmp_path)
    save_story(built.archive, story_doc(), user="pytest")
    bad = copy.deepcopy(story_doc())
    bad["id"] = "broken"
    bad["stops"] = []
    with built.archive.writer(SITE, message="bad", user="pytest") as w:
        w.add_bytes("stories/broken.json", json.dumps(bad).encode())
        w.add_bytes("stories/garbage.json", b"{not json")
    stories, errors = read_stories(built.archive.read(SITE))
    assert [s.id for s in stories] == ["tour"]
    assert len(errors) == 2 and any("stops" in str(e) for e in errors)


def test_apply_stop_and_stop_from_view(tmp_path):
    built = build_archive(tmp_path)
    model = ViewerModel("en")
    model.set_sites([site_info(built.archive.read(SITE), SITE)])
    model.open_site(SITE)
    story = parse_story(story_doc())
    apply_stop(model, story.stops[1])
    assert (model.compare_mode, model.epoch_a, model.epoch) == (CompareMode.SWIPE, E1, E2)
    assert model.camera == story.stops[1].camera.to_camera()
    model.set_camera(Camera((1.0, 2.0, 3.0), (0.0, 0.0, 0.0)))
    stop = stop_from_view(model, "here")
    assert (stop.compare, stop.epoch_a, stop.epoch) == ("swipe", E1, E2)
    assert stop.camera.position == (1.0, 2.0, 3.0)


def test_demo_story_walks_the_four_known_changes(demo_site):
    from viewer.model.tour import story_from_truth

    sources, archive, _ = demo_site
    truth = json.loads(sources.truth_path.read_text())
    story = story_from_truth(truth)
    changes = [s for s in story.stops if s.epoch_a]
    assert {s.id for s in changes} == {"built-pavilion", "removed-building-gabled",
                                       "earthworks-mound", "felled-tree-06"} or len(changes) == 4
    # valid against the stored site (epochs exist)
    v = archive.read(truth["site"])
    parse_story(story.to_json_dict(), "demo", [e.id for e in site_info(v).epochs], v.files)
    pav = next(s for s in changes if "pavilion" in s.id)
    assert "2,000 m³" in pav.text.en and "2.000 m³" in pav.text.de
