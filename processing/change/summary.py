"""JSON-ready statistics and histograms of change values (NaN = no value, excluded)."""

from __future__ import annotations

from typing import Any

import numpy as np

from processing.change._common import finite_or_none
from processing.errors import ProcessingError

PERCENTILES = (1, 5, 25, 75, 95, 99)


def nice_limit(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above ``value`` (a readable histogram range)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    exp = np.floor(np.log10(value))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * 10.0**exp >= value * (1 - 1e-12):
            return float(m * 10.0**exp)
    return float(10.0 ** (exp + 1))


def histogram(values: np.ndarray, *, bins: int = 41, limit: float | None = None
              ) -> dict[str, Any]:
    """Counts on fixed edges symmetric around 0.

    ``limit`` defaults to a round number at or above the 99th percentile of |value|; with an
    odd ``bins`` the middle bin is centred on 0 (the "no change" bin).  Values outside
    [-limit, limit] are counted in ``below``/``above``, NaN in ``missing``.
    """
    if int(bins) < 1:
        raise ProcessingError(f"histogram bins must be >= 1, got {bins}")
    v = np.asarray(values, dtype=np.float64).ravel()
    ok = np.isfinite(v)
    fin = v[ok]
    if limit is None:
        limit = nice_limit(float(np.percentile(np.abs(fin), 99))) if fin.size else 1.0
    elif not np.isfinite(limit) or limit <= 0:
        raise ProcessingError(f"histogram limit must be a finite number > 0, got {limit!r}")
    # Rounded so that round values (0.1, -0.3) are exact edges, as a reader expects.
    edges = np.round(np.linspace(-1.0, 1.0, int(bins) + 1), 12) * limit
    counts, _ = np.histogram(fin, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
            "below": int((fin < -limit).sum()), "above": int((fin > limit).sum()),
            "missing": int((~ok).sum())}


def statistics(values: np.ndarray, significant: np.ndarray | None = None) -> dict[str, Any]:
    """Count, mean, median, std (population), rms, extremes, percentiles and the share of
    valid values flagged significant; None where undefined (no valid value)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    ok = np.isfinite(v)
    fin = v[ok]
    out: dict[str, Any] = {"count": int(v.size), "valid": int(fin.size),
                           "missing": int(v.size - fin.size)}
    if fin.size:
        pct = np.percentile(fin, PERCENTILES)
        out.update(mean=float(fin.mean()), median=float(np.median(fin)), std=float(fin.std()),
                   rms=float(np.sqrt(np.mean(fin * fin))), mean_abs=float(np.abs(fin).mean()),
                   min=float(fin.min()), max=float(fin.max()),
                   percentiles={f"p{p:02d}": float(x) for p, x in zip(PERCENTILES, pct,
                                                                       strict=True)})
    else:
        out.update(mean=None, median=None, std=None, rms=None, mean_abs=None, min=None,
                   max=None, percentiles={f"p{p:02d}": None for p in PERCENTILES})
    if significant is not None:
        sig = np.asarray(significant, dtype=bool).ravel()
        if sig.shape != v.shape:
            raise ProcessingError(f"significant mask has {sig.size} entries for {v.size} values")
        n_sig = int((sig & ok).sum())
        out["significant"] = n_sig
        out["share_significant"] = finite_or_none(n_sig / fin.size) if fin.size else None
    return out
