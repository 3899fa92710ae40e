"""The privacy step's parts on data with known truth: real OpenCV detectors on labelled images,
the ghost check on simulated courtyards, the manifest's privacy settings."""

from __future__ import annotations

import numpy as np
import pytest

from processing.privacy import images, samples


def _found(truth: images.Box, boxes: list[images.Box]) -> bool:
    """A true box counts as found when a detection of its kind covers half of it."""
    for b in boxes:
        ix = max(0, min(truth.x + truth.w, b.x + b.w) - max(truth.x, b.x))
        iy = max(0, min(truth.y + truth.h, b.y + b.h) - max(truth.y, b.y))
        if b.kind == truth.kind and ix * iy >= 0.5 * truth.area:
            return True
    return False


@pytest.fixture(scope="module")
def labelled():
    # a third of one seed's set (the benchmark runs all of it): small faces and plates first
    return samples.labelled_set(seed=0)[::3]


@pytest.fixture(scope="module")
def anonymised(labelled):
    return [images.anonymise(s.image) for s in labelled]


def test_labelled_set_boxes_are_inside_and_sized(labelled):
    for s in labelled:
        h, w = s.image.shape[:2]
        for b in s.boxes:
            assert 0 <= b.x and 0 <= b.y and b.x + b.w <= w and b.y + b.h <= h, s.name
            assert (b.w >= 24) if b.kind == "face" else (max(b.w, b.h) >= 60), s.name


def test_faces_and_plates_are_found_and_blurred_area_is_bounded(labelled, anonymised):
    truths = [(t, r.boxes) for s, r in zip(labelled, anonymised, strict=True) for t in s.boxes]
    for kind in ("face", "plate"):
        mine = [_found(t, boxes) for t, boxes in truths if t.kind == kind]
        assert len(mine) >= 7
        assert np.mean(mine) >= 0.85, f"{kind}: {np.mean(mine):.0%} found"
    blurred = sum(r.blurred_pixels() for r in anonymised)
    true_area = sum(t.area for s in labelled for t in s.boxes)
    assert blurred <= 2.5 * true_area


def test_blur_is_not_reversible(labelled, anonymised):
    for s, r in zip(labelled, anonymised, strict=True):
        assert images.detect(r.image) == [], s.name
        for t in s.boxes:
            if not _found(t, r.boxes):
                continue
            before = s.image[t.y:t.y + t.h, t.x:t.x + t.w].astype(np.float64)
            after = r.image[t.y:t.y + t.h, t.x:t.x + t.w].astype(np.float64)
            # a mosaic of a few cells: the fine detail (what identifies) is gone
            detail = lambda a: np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean()  # noqa: E731
            assert detail(after) < 0.35 * detail(before), s.name


def test_full_portrait_and_turned_portrait():
    face = samples.astronaut()
    for k in (0, 1, 3):
        img = np.ascontiguousarray(np.rot90(face, k))
        boxes = images.detect(img)
        truth = samples._rotate_box(images.Box(*samples.FACE_BOX, "face"), k, face.shape[:2]) \
            if k else images.Box(*samples.FACE_BOX, "face")
        assert _found(truth, boxes), k
        assert images.detect(images.anonymise(img).image) == []


def test_nothing_to_find_changes_nothing():
    bg = samples.background("gravel", (200, 300))
    r = images.anonymise(bg, faces=False, plates=False)
    assert r.boxes == [] and np.array_equal(r.image, bg)


# --- ghosts -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,seed", [("tls", 3), ("tls", 4), ("als", 3), ("als", 5)])
def test_ghost_check_removes_transients_keeps_static(kind, seed):
    from processing.demo.courtyard import courtyard
    from processing.privacy import ghosts

    c = courtyard(seed, kind)
    model = ghosts.STATION if kind == "tls" else ghosts.VERTICAL
    masks = ghosts.ghost_masks([ghosts.Scan(s.xyz, model, sensor=s.sensor, first=s.first)
                                for s in c.scans])
    removed = np.concatenate(masks)
    transient = np.concatenate([s.transient for s in c.scans])
    assert transient.sum() > 20
    assert removed[transient].mean() >= 0.9
    assert removed[~transient].mean() < 0.01


def test_one_scan_or_no_view_removes_nothing():
    from processing.demo.courtyard import courtyard
    from processing.privacy import ghosts

    c = courtyard(1, "tls")
    s = c.scans[0]
    assert not ghosts.ghost_masks([ghosts.Scan(s.xyz, ghosts.STATION, s.sensor)])[0].any()
    blind = [ghosts.Scan(x.xyz, ghosts.BLIND) for x in c.scans]
    assert not any(m.any() for m in ghosts.ghost_masks(blind))


# --- manifest -----------------------------------------------------------------------------


def _manifest(epoch_extra: str = "", site_id: str = "hof") -> str:
    return f"""id = "{site_id}"
origin = [350000.0, 5700000.0, 40.0]
licence = "CC0-1.0"
attribution = "test"
[name]
de = "Hof"
en = "Yard"
[description]
de = "Ein Hof"
en = "A yard"
[location]
lat = 51.4
lon = 6.8
[[epochs]]
id = "2021-01-01"
capture = "terrestrial-lidar"
sensor = "s"
operator = "o"
{epoch_extra}
[[epochs.sources]]
path = "a.laz"
station = [350001.0, 5700002.0, 41.7]
[[epochs]]
id = "2022-01-01"
capture = "airborne-lidar"
sensor = "s"
operator = "o"
[[epochs.sources]]
path = "b.laz"
"""


def test_manifest_privacy_defaults_and_settings():
    from assets_manifest import parse_manifest
    from processing.privacy.step import settings

    m = parse_manifest(_manifest().encode(), "hof.toml")
    tls, als = m.epochs
    assert tls.privacy_enabled and not als.privacy_enabled
    assert tls.sources[0].station == (350001.0, 5700002.0, 41.7)
    m = parse_manifest(_manifest("[epochs.privacy]\nenabled = false\nremove_classes = [64]")
                       .encode(), "hof.toml")
    assert not m.epochs[0].privacy_enabled
    assert settings(m.epochs[0])["remove_classes"] == [64]


def test_manifest_refuses_restricted_site_id_and_bad_classes():
    from assets_manifest import parse_manifest
    from assets_manifest.errors import ManifestError

    with pytest.raises(ManifestError, match="--restricted"):
        parse_manifest(_manifest(site_id="hof--restricted").encode(), "hof.toml")
    with pytest.raises(ManifestError, match="remove_classes"):
        parse_manifest(_manifest("[epochs.privacy]\nremove_classes = [300]").encode(),
                       "hof.toml")
