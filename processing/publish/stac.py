"""The published folder's STAC catalog (pystac), validated offline.

One collection per site, one item per epoch: datetime, WGS84 footprint and bbox, the
projection extension (the site CRS's code, WKT2, bbox in the site CRS, centroid), licence and
attribution, and assets for the tileset, the full-resolution GLB, the LAZ and the provenance.

Validation never touches the network: pystac ships the STAC core schemas (v1.1.0) and this
package ships the projection extension's schema (``schemas/``); any other schema is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
from pystac.extensions.projection import ProjectionExtension
from pystac.validation.stac_validator import JsonSchemaSTACValidator

from processing.errors import ProcessingError

SCHEMAS = Path(__file__).with_name("schemas")
PROJECTION_SCHEMA = ProjectionExtension.get_schema_uri()
LAZ_MEDIA_TYPE = "application/vnd.laszip"
GLB_MEDIA_TYPE = "model/gltf-binary"


class OfflineValidator(JsonSchemaSTACValidator):
    """pystac's JSON Schema validator with every schema from disk, never from the network."""

    def __init__(self) -> None:
        super().__init__()
        schema = json.loads((SCHEMAS / "projection-v2.0.0.json").read_text(encoding="utf-8"))
        self.schema_cache[PROJECTION_SCHEMA] = schema

    def _get_schema(self, schema_uri: str) -> dict[str, Any]:
        if schema_uri not in self.schema_cache:
            raise ProcessingError(f"STAC schema {schema_uri} is not shipped with pystac or "
                                  "stadtzeit; validation runs offline, so it cannot be checked")
        return self.schema_cache[schema_uri]


def validate_catalog(catalog_path: Path) -> int:
    """Validate every object of a written catalog offline; returns how many were checked."""
    validator = OfflineValidator()
    catalog = pystac.Catalog.from_file(str(catalog_path))
    objects = [catalog, *catalog.get_all_collections(), *catalog.get_items(recursive=True)]
    for obj in objects:
        try:
            obj.validate(validator=validator)
        except pystac.STACValidationError as exc:
            raise ProcessingError(f"{obj.get_self_href()}: invalid STAC {obj.STAC_OBJECT_TYPE}"
                                  f": {exc}") from exc
    return len(objects)


def _polygon(lonlat: list[tuple[float, float]]) -> dict[str, Any]:
    ring = [list(p) for p in lonlat] + [list(lonlat[0])]
    return {"type": "Polygon", "coordinates": [ring]}


def build_catalog(out: Path, *, site: str, manifest: dict[str, Any], source_ref: str,
                  epochs: list[dict[str, Any]], crs_wkt: str) -> Path:
    """Write ``out/stac/catalog.json`` and below; returns the catalog's path.

    Each entry of ``epochs``: id, datetime, footprint (4 lon/lat corners), crs_bbox
    (minE, minN, maxE, maxN), centroid (lat, lon), assets (key -> (path relative to ``out``,
    media type, roles, title)).
    """
    licence, attribution = manifest.get("licence"), manifest.get("attribution")
    name = manifest.get("name") or {}
    description = manifest.get("description") or {}
    catalog = pystac.Catalog(
        id="stadtzeit", title="stadtzeit",
        description=f"Published by stadtzeit from {source_ref}. Licence: {licence}. "
                    f"Attribution: {attribution}.")
    lons = [p[0] for e in epochs for p in e["footprint"]]
    lats = [p[1] for e in epochs for p in e["footprint"]]
    times = [e["datetime"] for e in epochs]
    collection = pystac.Collection(
        id=site, title=name.get("en") or name.get("de") or site,
        description=(f"{description.get('en') or name.get('en') or site} — "
                     f"{description.get('de') or name.get('de') or site}. "
                     f"Attribution: {attribution}."),
        license=licence or "other",
        providers=[pystac.Provider(name=attribution or "unknown",
                                   roles=[pystac.ProviderRole.LICENSOR,
                                          pystac.ProviderRole.PRODUCER])],
        extent=pystac.Extent(
            pystac.SpatialExtent([[min(lons), min(lats), max(lons), max(lats)]]),
            pystac.TemporalExtent([[min(times), max(times)]])),
        extra_fields={"attribution": attribution})
    catalog.add_child(collection)
    for e in epochs:
        lon = [p[0] for p in e["footprint"]]
        lat = [p[1] for p in e["footprint"]]
        item = pystac.Item(
            id=f"{site}-{e['id']}", geometry=_polygon(e["footprint"]),
            bbox=[min(lon), min(lat), max(lon), max(lat)], datetime=e["datetime"],
            properties={"title": f"{name.get('en') or site}, {e['id']}", "license": licence,
                        "attribution": attribution, "stadtzeit:epoch": e["id"],
                        "stadtzeit:source": source_ref})
        proj = ProjectionExtension.ext(item, add_if_missing=True)
        proj.code = manifest.get("crs")
        proj.wkt2 = crs_wkt
        proj.bbox = [float(v) for v in e["crs_bbox"]]
        proj.centroid = {"lat": e["centroid"][0], "lon": e["centroid"][1]}
        for key, (rel, media, roles, title) in e["assets"].items():
            item.add_asset(key, pystac.Asset(href=str(Path("..") / ".." / ".." / rel),
                                             media_type=media, roles=roles, title=title))
        collection.add_item(item)
    root = out / "stac"
    catalog.normalize_hrefs(str(root))
    # Asset hrefs were written relative to the item folder stac/<site>/<item>/.
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def epoch_datetime(epoch: str, provenance: dict[str, Any] | None) -> datetime:
    """The capture time from the provenance if it gives one, else the epoch's date at 00:00 UTC."""
    for key in ("captured", "capture_time", "datetime"):
        value = (provenance or {}).get(key)
        if isinstance(value, str):
            try:
                t = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return t if t.tzinfo else t.replace(tzinfo=UTC)
            except ValueError:
                pass
    return datetime.fromisoformat(epoch).replace(tzinfo=UTC)
