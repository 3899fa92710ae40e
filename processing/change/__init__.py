"""Change detection between two epochs, on arrays in the site frame (see docs/CHANGE.md).

- ``c2c``: nearest-neighbour cloud-to-cloud distance (optionally split horizontal/vertical).
- ``c2m``: signed cloud-to-mesh distance.
- ``m3c2``: M3C2 distances with level of detection (``M3C2Params``, radii in metres).
- ``dod``: 2.5D difference of DEMs with volumes (``DoDParams``).
- ``grid_regions`` / ``point_regions``: connected regions of significant change.
- ``histogram`` / ``statistics``: JSON-ready summaries.

Every result has ``to_summary()`` returning a JSON-serialisable dict.
"""

from processing.change.c2c import C2CResult, c2c
from processing.change.c2m import C2MResult, c2m
from processing.change.dod import DEM, DoDResult, dod, rasterise
from processing.change.m3c2 import M3C2Result, m3c2, subsample_cores
from processing.change.normals import estimate_normals
from processing.change.params import DoDParams, M3C2Params
from processing.change.regions import ChangeRegion, RegionsResult, grid_regions, point_regions
from processing.change.summary import histogram, statistics

__all__ = [
    "C2CResult", "C2MResult", "ChangeRegion", "DEM", "DoDParams", "DoDResult", "M3C2Params",
    "M3C2Result", "RegionsResult", "c2c", "c2m", "dod", "estimate_normals", "grid_regions",
    "histogram", "m3c2", "point_regions", "rasterise", "statistics", "subsample_cores",
]
