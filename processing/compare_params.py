"""Parameters of `processing.compare` (no heavy imports: the CLI reads them for its help)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METHODS = ("m3c2", "c2c", "c2m", "dod")
# Bump when the same inputs and parameters would give other products (a fixed bug, a better
# algorithm), so stored results are recomputed instead of reused; summaries record it, and the
# viewer recomputes what an older one stored.
ALGORITHM_VERSION = "5"


def made_by_current_algorithm(summary: dict[str, Any]) -> bool:
    """Whether `compare` would make the same product today: its summary names this algorithm
    version or a newer one. Products of `compare` from before the field (they carry a `key`)
    were version 4; products from elsewhere are taken as they are."""
    made = summary.get("algorithm", "4" if "key" in summary else None)
    try:
        return made is None or int(made) >= int(ALGORITHM_VERSION)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class CompareParams:
    """Parameters of every method (radii in metres; see docs/CHANGE.md).

    M3C2: ``normal_radius``, ``cylinder_radius``, ``max_depth`` (cylinder half-length),
    ``core_spacing`` (core points subsampled from epoch a). CloudCompare gives its normal and
    projection scales as diameters: halve them. ``registration_error`` None takes it from the
    ingest provenance of both epochs. C2C/C2M: ``max_distance``, and ``threshold`` (|d| that
    counts as change for regions, no statistical LoD). DoD: ``cell_size``. Regions smaller than
    ``min_area`` m² or ``min_volume`` m³ are dropped.
    """

    normal_radius: float = 1.5
    cylinder_radius: float = 1.0
    max_depth: float = 15.0
    core_spacing: float = 1.0
    registration_error: float | None = None
    max_distance: float = 25.0
    threshold: float = 0.25
    cell_size: float = 1.0
    min_area: float = 4.0
    min_volume: float = 1.0

    def for_method(self, method: str) -> dict[str, Any]:
        """Only the parameters that influence ``method`` (they form the product key)."""
        names = {"m3c2": ("normal_radius", "cylinder_radius", "max_depth", "core_spacing"),
                 "c2c": ("max_distance", "threshold"), "c2m": ("max_distance", "threshold"),
                 "dod": ("cell_size",)}[method]
        return {n: getattr(self, n) for n in names + ("registration_error", "min_area",
                                                      "min_volume")}
