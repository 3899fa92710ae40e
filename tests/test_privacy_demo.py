"""The demo archive end to end: nothing the public sees holds a face, a plate or a passer-by;
the originals are kept, bit-exact, in the restricted object only."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from archive import Archive
from processing.demo.transients import Transient
from processing.lazio import read_laz_site
from processing.privacy.check import check_textures

SITE = "gasometer-demo"


@pytest.fixture(scope="module")
def demo(demo_site):
    sources, archive, _report = demo_site
    truth = json.loads(sources.truth_path.read_text())
    return sources, archive, truth


def test_public_products_hold_no_face_or_plate(demo):
    _sources, archive, truth = demo
    head = archive.read(SITE)
    assert check_textures(head) == {}
    record = head.read_json("epochs/2024-05-20/epoch.json")["statistics"]["privacy"]
    assert record["textures"]["faces"] >= truth["poster"]["faces"]
    assert record["textures"]["plates"] >= truth["poster"]["plates"]
    # numbers only: where the faces were stays in the restricted object
    assert "boxes" not in json.dumps(record)


def test_public_points_hold_no_passer_by(demo):
    sources, archive, truth = demo
    head = archive.read(SITE)
    items = [Transient.from_dict(d) for d in truth["transients"]]
    assert {t.epoch for t in items} == {"2019-06-15", "2021-09-01"}
    for epoch in {t.epoch for t in items}:
        xyz = read_laz_site(head.path(f"epochs/{epoch}/points.laz"), sources.origin).xyz
        left = {(t.kind, t.centre[:2]): int(t.contains(xyz).sum()) for t in items
                if t.epoch == epoch}
        assert sum(left.values()) == 0, left
        record = head.read_json(f"epochs/{epoch}/epoch.json")["statistics"]["privacy"]
        assert record["points"]["removed"]["seen_through"] > 0


def test_originals_only_in_the_restricted_object(demo):
    sources, archive, _truth = demo
    assert archive.site_ids() == [SITE]
    assert not any("/source/" in p for p in archive.read(SITE).files)
    restricted = Archive.open(archive.root, include_restricted=True).read(f"{SITE}--restricted")
    for epoch, files in sources.sources.items():
        for f in (*files, *sources.companions.get(epoch, ())):
            stored = restricted.path(f"epochs/{epoch}/source/{f.name}")
            assert hashlib.sha256(stored.read_bytes()).digest() == \
                hashlib.sha256(f.read_bytes()).digest()
        assert restricted.exists(f"epochs/{epoch}/privacy/removed.npz")
    detections = json.loads(restricted.path("epochs/2024-05-20/privacy/detections.json")
                            .read_bytes())
    assert sum(len(b) for b in detections["boxes"].values()) >= 4


def test_removed_points_record_rederives_the_public_cloud(demo):
    """restricted removed.npz + the original file = what the public cloud was built from."""
    import laspy

    sources, archive, _truth = demo
    restricted = Archive.open(archive.root, include_restricted=True).read(f"{SITE}--restricted")
    with np.load(restricted.path("epochs/2021-09-01/privacy/removed.npz")) as npz:
        removed = {k.split("/", 1)[1]: npz[k] for k in npz.files}
    total = sum(len(laspy.read(f).points) for f in sources.sources["2021-09-01"])
    assert 0 < sum(len(v) for v in removed.values()) < 0.01 * total
