"""``stadtzeit publish``: a static folder for an urban data platform (3D Tiles, STAC, a page)."""

from __future__ import annotations

import argparse
from pathlib import Path

from viewer.cli import add_archive_option, archive_path

DESCRIPTION = """\
Write a folder any web server or data platform can serve: per epoch a 3D Tiles 1.1 tileset
(glTF, the LOD chain, large LODs split into spatial tiles, georeferenced to ECEF), a heatmap
tileset per stored comparison, a STAC catalog (a collection for the site, an item per epoch;
validated offline), and index.html on CesiumJS (bundled, no token, no internet) with a time
slider, a swipe and the change colouring in German and English. Every file carries the site's
licence and attribution. Only the public site is published; SITE--restricted is refused.
Nothing is written to the archive.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish", help="write 3D Tiles, STAC and a web page for a site",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  stadtzeit publish gasometer --out /srv/www/gasometer\n")
    add_archive_option(p)
    p.add_argument("site", metavar="SITE", help="site id, e.g. gasometer")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="new (or empty) folder to write")
    p.add_argument("--cesium", type=Path, metavar="DIR",
                   help="CesiumJS build folder holding Cesium.js (default: js/node_modules)")
    p.add_argument("--tile-faces", type=int, default=None, metavar="N",
                   help="split an LOD of more than N triangles into spatial tiles "
                        "(default 250000)")
    p.set_defaults(func=_publish)


def _publish(args: argparse.Namespace) -> int:
    from rich.console import Console

    from archive import Archive
    from processing.publish import publish
    from processing.publish.quadtree import MAX_TILE_FACES
    report = publish(Archive.open(archive_path(args)), args.site, args.out, cesium=args.cesium,
                     max_tile_faces=args.tile_faces or MAX_TILE_FACES)
    g = report.georef
    Console().print(
        f"Published {report.source} to {report.out}: {len(report.epochs)} epoch tileset(s), "
        f"{len(report.pairs)} change tileset(s), {report.stac_objects} STAC object(s) valid, "
        f"{report.files} files, {report.bytes / 2**20:.1f} MiB. Origin at "
        f"{g.lat:.5f} N, {g.lon:.5f} E. Open {report.out / 'index.html'} through a web server.",
        highlight=False)
    return 0
