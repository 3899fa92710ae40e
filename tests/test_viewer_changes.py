"""The viewer computes a missing change product with the code behind `stadtzeit compare`."""

from __future__ import annotations

import numpy as np

from processing.gltf import read_glb
from viewer.model.changes import compute_pair_change
from viewer.model.scene import MeshData

SITE = "gasometer-demo"
FIRST, LAST = "2019-06-15", "2024-05-20"


def test_missing_product_is_computed_by_processing_compare_and_not_stored(demo_site):
    _, archive, _ = demo_site
    head = archive.read(SITE)
    versions = len(archive.log(SITE))

    def must_not_load():
        raise AssertionError("the archive path needs no meshes from the viewer")

    steps = []
    change = compute_pair_change(archive, SITE, FIRST, LAST, 1, must_not_load, must_not_load,
                                 lambda f, _s: steps.append(f), lambda: False)
    lod1 = read_glb(head.path(f"epochs/{LAST}/mesh/lod1.glb"))
    assert change.computed and change.method == "dod" and steps[-1] == 1.0
    assert change.values.shape == (len(lod1.vertices),)
    assert change.level_of_detection and change.level_of_detection > 0
    signs = {r.sign for r in change.regions}
    assert signs == {-1, 1}, signs  # the demolished house and the new pavilion/mound
    assert len(archive.log(SITE)) == versions  # shown, never stored


def test_without_archive_products_the_meshes_are_compared(demo_site):
    _, archive, _ = demo_site
    head = archive.read(SITE)

    def load(epoch):
        m = read_glb(head.path(f"epochs/{epoch}/mesh/lod2.glb"))
        return lambda: MeshData(np.asarray(m.vertices), np.asarray(m.faces, np.int64))

    change = compute_pair_change(None, SITE, FIRST, LAST, 2, load(FIRST), load(LAST),
                                 lambda f, s: None, lambda: False)
    assert change.computed and "C2M" in change.method


def test_default_method_follows_what_the_epochs_captured() -> None:
    from viewer.model.changes import default_method
    from viewer.model.state import EpochInfo

    def epoch(capture: str) -> EpochInfo:
        return EpochInfo(id=capture, date=None, capture=capture)

    walls = ("terrestrial-lidar", "mobile-lidar", "photogrammetry")
    for a in walls:
        for b in walls:
            assert default_method(epoch(a), epoch(b)) == "m3c2"
        # a flight sees roofs and ground: what both saw is the DEM difference
        assert default_method(epoch("airborne-lidar"), epoch(a)) == "dod"
        assert default_method(epoch(a), epoch("airborne-lidar")) == "dod"
    assert default_method(epoch(""), epoch("photogrammetry")) == "dod"
    assert default_method(None, epoch("photogrammetry")) == "dod"
