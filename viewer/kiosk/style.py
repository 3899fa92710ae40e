"""Sizes that scale with the screen and colours that pass WCAG AA, for reading at 1.5 m.

At 1080 lines of screen: body text 28 px, touch targets 96 px; at 2160 lines twice that.
Colours are checked in tests with the WCAG 2 contrast formula (text ≥ 4.5:1).
"""

from __future__ import annotations

from dataclasses import dataclass

# colours (text on background pairs are the ones the tests check)
INK = "#ffffff"            # text on panels
PANEL = "#14191e"          # panels; drawn at PANEL_ALPHA over the 3D view
PANEL_ALPHA = 0.9
ACCENT = "#ffd34d"         # the selected epoch/mode: dark text on yellow
ACCENT_INK = "#14191e"
BUTTON = "#2c3a47"         # a button at rest: white text
BUTTON_DOWN = "#44596c"
HOME_BG = "#0f1419"
ERROR_BG = "#fff4d6"       # the friendly card: dark text on warm light
ERROR_INK = "#3b2a00"
RAISED = "#c0392b"         # the change colours' words (same scale as the heatmap)
LOWERED = "#2166ac"


@dataclass(frozen=True)
class Metrics:
    """Pixel sizes for a screen `height` pixels tall (logical pixels)."""

    height: int

    @property
    def s(self) -> float:
        return max(self.height, 480) / 1080

    def px(self, at_1080: float) -> int:
        return round(at_1080 * self.s)

    @property
    def body(self) -> int:          # body text
        return self.px(28)

    @property
    def small(self) -> int:         # the smallest text anywhere (captions)
        return self.px(24)

    @property
    def title(self) -> int:
        return self.px(44)

    @property
    def huge(self) -> int:
        return self.px(72)

    @property
    def target(self) -> int:        # the smallest touch target's side
        return self.px(96)

    @property
    def gap(self) -> int:
        return self.px(24)


def stylesheet(m: Metrics) -> str:
    """The kiosk's whole look: one Qt style sheet, no hover states (touch has no hover)."""
    r = m.px(16)
    return f"""
    QWidget {{ font-size: {m.body}px; color: {INK}; }}
    #kiosk-root {{ background: {HOME_BG}; }}
    #home {{ background: {HOME_BG}; }}
    QPushButton {{ background: {BUTTON}; color: {INK}; border: none; border-radius: {r}px;
                   min-height: {m.target}px; min-width: {m.target}px;
                   padding: 0 {m.px(28)}px; font-size: {m.body}px; font-weight: 600; }}
    QPushButton:pressed {{ background: {BUTTON_DOWN}; }}
    QPushButton:checked {{ background: {ACCENT}; color: {ACCENT_INK}; }}
    QPushButton:disabled {{ background: #262d33; color: #b8c0c8; }}
    #panel, #story-card, #legend, #pin-pad {{ background: rgba(20, 25, 30, {PANEL_ALPHA});
                   border-radius: {r}px; }}
    #title {{ font-size: {m.title}px; font-weight: 700; }}
    #huge {{ font-size: {m.huge}px; font-weight: 800; }}
    #small {{ font-size: {m.small}px; }}
    #tile {{ background: #1d252d; border-radius: {r}px; }}
    #tile QLabel {{ background: transparent; }}
    #error-card {{ background: {ERROR_BG}; border-radius: {r}px; }}
    #error-card QLabel {{ color: {ERROR_INK}; }}
    #attract-band {{ background: rgba(20, 25, 30, 0.82); }}
    #hotspot {{ background: {ACCENT}; color: {ACCENT_INK}; border-radius: {m.target // 4}px;
                font-weight: 800; }}
    """


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 … 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def over(colour: str, alpha: float, below: str) -> str:
    """`colour` drawn at `alpha` over `below` (the worst case under a translucent panel)."""
    c, b = colour.lstrip("#"), below.lstrip("#")
    mix = [round(int(c[i:i + 2], 16) * alpha + int(b[i:i + 2], 16) * (1 - alpha))
           for i in (0, 2, 4)]
    return "#" + "".join(f"{v:02x}" for v in mix)


#: (text, background) pairs the kiosk draws; tests require each ≥ 4.5:1
TEXT_PAIRS = {
    "panel text over a white scene": (INK, over(PANEL, PANEL_ALPHA, "#ffffff")),
    "button": (INK, BUTTON),
    "pressed button": (INK, BUTTON_DOWN),
    "selected": (ACCENT_INK, ACCENT),
    "disabled": ("#b8c0c8", "#262d33"),
    "home": (INK, HOME_BG),
    "tile": (INK, "#1d252d"),
    "error card": (ERROR_INK, ERROR_BG),
    "hotspot": (ACCENT_INK, ACCENT),
}
