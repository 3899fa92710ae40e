"""How change is put into colours and words for people: one vocabulary for every front-end.

The desktop heatmap, the kiosk's "What changed?", VR's legend and the exports all show the same
colour limit, chosen the same way and stated in the legend, and the same plain, locale-formatted
numbers ("−2.621,3 m³" in German, "−2,621.3 m³" in English). Plain Python and numpy only: this
runs on the UI thread, so it must not import the processing layer (scipy) or a GUI toolkit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MINUS = "\u2212"            # a real minus sign: a hyphen reads as a dash next to numbers
PERCENTILE = 98             # the colour limit covers this share of the values it is chosen from

_SEPARATORS = {"de": (".", ","), "en": (",", ".")}   # (thousands, decimal)


def format_number(value: float, language: str = "en", decimals: int = 1,
                  signed: bool = False) -> str:
    """`value` with the language's separators: 1.234,5 (de) or 1,234.5 (en)."""
    if value is None or not math.isfinite(value):
        return "–"
    thousands, decimal = _SEPARATORS.get(language, _SEPARATORS["en"])
    text = f"{abs(value):,.{decimals}f}"
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    rounded_zero = round(abs(value), decimals) == 0
    if value < 0 and not rounded_zero:
        return MINUS + text
    return ("+" + text) if signed and value > 0 and not rounded_zero else text


def format_length(metres: float, language: str = "en", signed: bool = False) -> str:
    """A length in metres, with centimetres below 1 m so small changes do not read as 0.0 m."""
    if metres is not None and math.isfinite(metres) and abs(metres) < 1:
        return format_number(metres * 100, language, 0, signed) + " cm"
    return format_number(metres, language, 1, signed) + " m"


def format_volume(m3: float, language: str = "en", signed: bool = True) -> str:
    return format_number(m3, language, 1, signed) + " m³"


def format_area(m2: float, language: str = "en") -> str:
    return format_number(m2, language, 1) + " m²"


def about(value: float) -> float:
    """`value` rounded to two significant digits, for "about 2,000 m³" in public texts."""
    if not value or not math.isfinite(value):
        return 0.0
    digits = 1 - int(math.floor(math.log10(abs(value))))
    return float(round(value, digits))


def at_least(value: float) -> float:
    """`value` (> 0) rounded down to two significant digits: a lower bound stays one."""
    if not value or not math.isfinite(value):
        return 0.0
    step = 10.0 ** (int(math.floor(math.log10(abs(value)))) - 1)
    return math.floor(value / step) * step


# --------------------------------------------------------------------------- colour limit

def nice_limit(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `x`: legends read 0.5 m, 1 m, 2.5 m."""
    if not x or not math.isfinite(x) or x <= 0:
        return 1.0
    k = math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10 ** k >= x * (1 - 1e-9):
            return float(step * 10 ** k)
    return float(10 ** (k + 1))


@dataclass(frozen=True)
class ColourScale:
    """The half-width of the symmetric colour scale and what it was chosen from."""

    limit: float           # metres: -limit is full blue, +limit full red
    basis: str             # "significant", "all" or "none": which values set the limit
    clipped: float         # share of the coloured values beyond ±limit (drawn at full colour)

    def explain(self, language: str = "en") -> str:
        """The legend's sentence saying how the scale was chosen."""
        share = format_number(100 * self.clipped, language, 0)
        if language == "de":
            what = {"significant": "der signifikanten Änderungen",
                    "all": "aller Werte", "none": ""}[self.basis]
            if not what:
                return "Keine Werte: Standardskala ±1 m"
            return (f"Skala: {PERCENTILE}. Perzentil {what}; "
                    f"{share} % liegen darüber und sind voll gefärbt")
        what = {"significant": "of the significant changes", "all": "of all values",
                "none": ""}[self.basis]
        if not what:
            return "No values: default scale ±1 m"
        return (f"Scale: {PERCENTILE}th percentile {what}; "
                f"{share} % lie beyond it and are drawn at full colour")


def colour_scale(values: np.ndarray, significant: np.ndarray | None = None,
                 level_of_detection: float | None = None) -> ColourScale:
    """A robust symmetric limit: the rounded 98th percentile of |d| over the significant values
    (those the viewer calls change), else over all finite values; never below the LoD, so
    that noise below it stays pale. A few outliers cannot stretch the scale to ±20 m."""
    v = np.asarray(values, np.float32)
    finite = np.isfinite(v)
    if significant is not None:
        chosen = finite & np.asarray(significant, bool)
    elif level_of_detection:
        chosen = finite & (np.abs(v) >= level_of_detection)
    else:
        chosen = np.zeros_like(finite)
    basis = "significant"
    if not chosen.any():
        chosen, basis = finite, "all"
    if not chosen.any():
        return ColourScale(1.0, "none", 0.0)
    mags = np.abs(v[chosen])
    limit = nice_limit(max(float(np.percentile(mags, PERCENTILE)), level_of_detection or 0.0,
                           1e-3))
    clipped = float(np.count_nonzero(np.abs(v[finite]) > limit)) / max(int(finite.sum()), 1)
    return ColourScale(limit, basis, clipped)


# --------------------------------------------------------------------------- plain words

_WORDS = {
    # (surface went up, surface went down, volume added, volume removed)
    "en": {"raised": "raised", "lowered": "lowered", "added": "added", "removed": "removed",
           "unchanged": "unchanged", "no_value": "not seen in both scans"},
    "de": {"raised": "angehoben", "lowered": "abgesenkt", "added": "hinzugekommen",
           "removed": "entfernt", "unchanged": "unverändert",
           "no_value": "nicht in beiden Scans erfasst"},
}


def word(key: str, language: str = "en") -> str:
    return _WORDS.get(language, _WORDS["en"])[key]


def describe_value(metres: float, level_of_detection: float | None = None,
                   language: str = "en") -> str:
    """One surface value in plain words: "raised by 2.3 m", "um 40 cm abgesenkt"."""
    if metres is None or not math.isfinite(metres):
        return word("no_value", language)
    if level_of_detection and abs(metres) < level_of_detection:
        return word("unchanged", language)
    key = "raised" if metres > 0 else "lowered"
    amount = format_length(abs(metres), language)
    if language == "de":
        return f"um {amount} {word(key, language)}"
    return f"{word(key, language)} by {amount}"


def legend_ends(limit: float, language: str = "en") -> tuple[str, str]:
    """The texts at the two ends of the colour bar."""
    low, high = format_length(-limit, language), format_length(limit, language, signed=True)
    if language == "de":
        return f"{low} abgesenkt / entfernt", f"{high} angehoben / hinzugekommen"
    return f"{low} lowered / removed", f"{high} raised / added"


def region_caption(volume_m3: float | None, sign: int, a_year: str, b_year: str,
                   name: str | None = None, language: str = "en", partial: bool = False) -> str:
    """A region for the public: "New pavilion: about 2,000 m³ built between 2021 and 2024";
    "at least" where one scan did not reach all of it (`partial`: the volume is a lower
    bound)."""
    built = sign > 0
    rounded = at_least if partial else about
    if language == "de":
        verb = "gebaut" if built else "abgetragen"
        amount = (f"{'mindestens' if partial else 'etwa'} "
                  f"{format_number(rounded(abs(volume_m3)), language, 0)} m³ "
                  if volume_m3 else "")
        text = f"{amount}{verb} zwischen {a_year} und {b_year}"
    else:
        verb = "built" if built else "removed"
        amount = (f"{'at least' if partial else 'about'} "
                  f"{format_number(rounded(abs(volume_m3)), language, 0)} m³ "
                  if volume_m3 else "")
        text = f"{amount}{verb} between {a_year} and {b_year}"
    return f"{name}: {text}" if name else text[0].upper() + text[1:]
