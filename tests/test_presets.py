"""Presets: names, overrides validated by name/type/range, provenance dict."""

from __future__ import annotations

import json

import pytest

from processing.errors import ProcessingError
from processing.presets import PRESET_FOR_CAPTURE, PRESETS, Preset, get_preset, preset_names


def test_named_presets_and_methods():
    assert preset_names() == ["als", "photogrammetry", "tls"]
    assert get_preset("als").surface_method == "delaunay25d"
    assert get_preset("tls").surface_method == "poisson"
    assert get_preset("photogrammetry").surface_method in ("poisson", "bpa")
    assert set(PRESET_FOR_CAPTURE.values()) <= set(PRESETS)
    for p in PRESETS.values():
        assert p.drop_classes in ((7, 18), ())
        assert p.lod_fractions == (1.0, 0.25, 0.05)


def test_overrides_are_applied_and_coerced():
    p = get_preset("tls", {"voxel_size": 1, "lod_fractions": [1, 0.5], "drop_classes": [7],
                           "poisson_depth": 8.0, "surface_method": "bpa"})
    assert p.voxel_size == 1.0 and isinstance(p.voxel_size, float)
    assert p.lod_fractions == (1.0, 0.5)
    assert p.drop_classes == (7,)
    assert p.poisson_depth == 8 and isinstance(p.poisson_depth, int)
    assert p.surface_method == "bpa"
    assert get_preset("tls").voxel_size == 0.02          # the named preset is untouched
    with pytest.raises(AttributeError):
        p.voxel_size = 3.0                                # frozen


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ProcessingError, match="valid presets: als, photogrammetry, tls"):
        get_preset("lidar")
    with pytest.raises(ProcessingError, match=r"'voxelsize'.*valid parameters:.*voxel_size"):
        get_preset("als", {"voxelsize": 0.1})


@pytest.mark.parametrize("override, message", [
    ({"voxel_size": -0.1}, ">= 0"),
    ({"icp_rmse_limit": 0}, "> 0"),
    ({"crop_to_boundary": 1}, "true or false"),
    ({"poisson_depth": True}, "number"),
    ({"poisson_depth": 9.5}, "integer"),
    ({"poisson_depth": 30}, "<= 14"),
    ({"surface_method": "marching"}, "poisson, bpa, delaunay25d"),
    ({"voxel_size": "0.1"}, "finite number"),
    ({"voxel_size": float("nan")}, "finite number"),
    ({"drop_classes": 7}, "list"),
    ({"drop_classes": [300]}, "<= 255"),
    ({"bpa_radius_factors": []}, "at least 1"),
    ({"lod_fractions": [0.5, 0.25]}, "start with 1.0"),
    ({"lod_fractions": [1.0, 0.25, 0.5]}, "fall"),
])
def test_bad_overrides_are_refused(override, message):
    with pytest.raises(ProcessingError, match=message):
        get_preset("tls", override)


def test_to_dict_is_json_and_complete():
    p = get_preset("als", {"icp_voxel_size": 0.3})
    d = p.to_dict()
    json.dumps(d)
    assert d["name"] == "als" and d["icp_voxel_size"] == 0.3
    assert d["drop_classes"] == [7, 18]
    assert set(d) == {f for f in Preset.__dataclass_fields__}
    assert p.replace(voxel_size=0.5).voxel_size == 0.5
