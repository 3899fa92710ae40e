"""The shared vocabulary of change: locale numbers, robust colour limits, plain words."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.model.change_display import (
    MINUS,
    colour_scale,
    describe_value,
    format_number,
    format_volume,
    legend_ends,
    nice_limit,
    region_caption,
)


def test_german_and_english_numbers() -> None:
    assert format_volume(-2621.3, "de") == f"{MINUS}2.621,3 m³"
    assert format_volume(-2621.3, "en") == f"{MINUS}2,621.3 m³"
    assert format_volume(1947.04, "en") == "+1,947.0 m³"
    assert format_number(1234567.891, "de", 2) == "1.234.567,89"
    assert format_number(-0.04, "en", 1) == "0.0"          # no "−0.0"
    assert format_number(float("nan"), "de") == "–"


@pytest.mark.parametrize("x, expected", [(0.0, 1.0), (0.3, 0.5), (1.37, 2.0), (2.2, 2.5),
                                         (7.9, 10.0), (10.0, 10.0), (0.012, 0.02)])
def test_nice_limit(x: float, expected: float) -> None:
    assert nice_limit(x) == pytest.approx(expected)


def test_outliers_do_not_stretch_the_scale() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 0.01, 50_000),       # unchanged, below the LoD
                             rng.uniform(1.5, 2.4, 2_000),       # a raised roof
                             [19.0, -20.0, 18.5],                # a few outliers
                             [np.nan] * 500])
    scale = colour_scale(values, level_of_detection=0.05)
    assert scale.basis == "significant" and scale.limit == 2.5
    assert 0 < scale.clipped < 0.001
    assert "98th percentile of the significant changes" in scale.explain("en")
    assert "signifikanten" in scale.explain("de")


def test_scale_without_significant_values_uses_all_and_says_so() -> None:
    values = np.random.default_rng(2).normal(0, 0.01, 1000)
    scale = colour_scale(values, level_of_detection=0.5)
    assert scale.basis == "all" and scale.limit == 0.5   # never below the LoD
    assert colour_scale(np.full(10, np.nan)).basis == "none"


def test_plain_words() -> None:
    assert describe_value(2.31, 0.05, "en") == "raised by 2.3 m"
    assert describe_value(-0.4, 0.05, "de") == "um 40 cm abgesenkt"
    assert describe_value(0.01, 0.05, "en") == "unchanged"
    assert legend_ends(2.5, "en") == (f"{MINUS}2.5 m lowered / removed", "+2.5 m raised / added")
    assert (region_caption(2002.4, 1, "2021", "2024", "New pavilion", "en")
            == "New pavilion: about 2,000 m³ built between 2021 and 2024")
    assert (region_caption(-2621.3, -1, "2019", "2024", None, "de")
            == "Etwa 2.600 m³ abgetragen zwischen 2019 und 2024")
    # one scan did not reach all of it: a lower bound, said so
    assert (region_caption(-967.2, -1, "2021", "2024", None, "en", partial=True)
            == "At least 960 m³ removed between 2021 and 2024")
    assert (region_caption(1390.0, 1, "2021", "2024", "Erdhügel", "de", partial=True)
            == "Erdhügel: mindestens 1.300 m³ gebaut zwischen 2021 und 2024")
