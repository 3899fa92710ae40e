"""`stadtzeit compare SITE A B`: change between two epochs, stored in the archive."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys

from assets_manifest.errors import StadtzeitError
from viewer.cli import add_archive_option, archive_path


def register(sub: argparse._SubParsersAction) -> None:
    from processing.compare_params import METHODS, CompareParams

    d = CompareParams()
    p = sub.add_parser(
        "compare", help="change between two epochs of a site (M3C2, C2C, C2M, DEM difference)",
        description=(
            "Compute the change from epoch A to epoch B (positive: added or raised in B), its "
            "regions and volumes, store it in the archive as a new version and print a "
            "summary. Asking again with the same parameters reuses the stored result. All "
            "lengths are radii in metres; CloudCompare's M3C2 normal and projection scales "
            "are diameters: halve them."))
    p.add_argument("site", metavar="SITE")
    p.add_argument("a", metavar="EPOCH_A", help="reference epoch (ISO date)")
    p.add_argument("b", metavar="EPOCH_B", help="compared epoch (ISO date)")
    p.add_argument("--method", choices=METHODS, default="m3c2")
    p.add_argument("--normal-radius", type=float, default=d.normal_radius,
                   help=f"M3C2 normal radius, m (default {d.normal_radius})")
    p.add_argument("--cylinder-radius", type=float, default=d.cylinder_radius,
                   help=f"M3C2 projection cylinder radius, m (default {d.cylinder_radius})")
    p.add_argument("--max-depth", type=float, default=d.max_depth,
                   help=f"M3C2 cylinder half-length, m (default {d.max_depth})")
    p.add_argument("--core-spacing", type=float, default=d.core_spacing,
                   help=f"M3C2 core point spacing, m (default {d.core_spacing})")
    p.add_argument("--registration-error", type=float, default=None,
                   help="m; default: from both epochs' ingest provenance")
    p.add_argument("--max-distance", type=float, default=d.max_distance,
                   help=f"C2C/C2M search bound, m (default {d.max_distance})")
    p.add_argument("--threshold", type=float, default=d.threshold,
                   help=f"C2C/C2M change that counts for regions, m (default {d.threshold})")
    p.add_argument("--cell-size", type=float, default=d.cell_size,
                   help=f"DEM difference cell, m (default {d.cell_size})")
    p.add_argument("--min-area", type=float, default=d.min_area,
                   help=f"drop regions smaller than this, m² (default {d.min_area})")
    p.add_argument("--min-volume", type=float, default=d.min_volume,
                   help=f"drop regions with less volume, m³ (default {d.min_volume})")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the summary as JSON")
    out.add_argument("--csv", action="store_true", help="print the regions as CSV")
    p.add_argument("--user", default=None, help="name recorded with the new version")
    add_archive_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from archive import Archive
    from processing.compare import compare
    from processing.compare_params import CompareParams

    if args.a == args.b:
        raise StadtzeitError(f"compare needs two different epochs, got {args.a} twice; name "
                             "an earlier and a later epoch (stadtzeit archive ls lists them)")
    params = CompareParams(
        normal_radius=args.normal_radius, cylinder_radius=args.cylinder_radius,
        max_depth=args.max_depth, core_spacing=args.core_spacing,
        registration_error=args.registration_error, max_distance=args.max_distance,
        threshold=args.threshold, cell_size=args.cell_size, min_area=args.min_area,
        min_volume=args.min_volume)
    archive = Archive.open(archive_path(args))
    err = Console(stderr=True)
    with err.status(f"comparing {args.a} → {args.b} ({args.method})…") as status:
        result = compare(archive, args.site, args.a, args.b, method=args.method, params=params,
                         user=args.user or getpass.getuser(),
                         progress=lambda f, s: status.update(f"{args.method}: {s} "
                                                             f"({100 * f:.0f} %)"))
    if args.json:
        json.dump(result.summary, sys.stdout, indent=2)
        print()
    elif args.csv:
        print_csv(result.summary)
    else:
        print_summary(result)
    return 0


def print_csv(summary: dict) -> None:
    fields = ["id", "sign", "area", "volume", "volume_uncertainty95", "centroid_x",
              "centroid_y", "centroid_z", "count", "max_abs_change", "mean_change"]
    w = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in summary.get("regions", []):
        cx, cy, cz = r["centroid"]
        w.writerow(r | {"centroid_x": cx, "centroid_y": cy, "centroid_z": cz})


def print_summary(result) -> None:
    from rich.console import Console
    from rich.table import Table

    s = result.summary
    console = Console()
    st = s.get("statistics", {})
    state = "reused the stored result" if result.reused else f"stored as v{result.version}"
    console.print(f"[bold]{result.site}[/bold] {result.a} → {result.b}, {result.method} "
                  f"({state}: {result.prefix})", highlight=False)
    lod = s.get("level_of_detection")
    console.print(
        f"values: {st.get('count', 0):,}, median {_m(st.get('median'))}, "
        f"std {_m(st.get('std'))}, significant {_pct(st.get('share_significant'))}, "
        f"level of detection (median) {_m(lod)}, registration error "
        f"{_m(s.get('registration_error'))}", highlight=False)
    vol = s.get("volumes", {})
    if vol:
        console.print(f"volume gained {vol.get('gained', 0):,.1f} m³, lost "
                      f"{vol.get('lost', 0):,.1f} m³, net {vol.get('net', 0):,.1f} m³",
                      highlight=False)
    elif "volumes" in s:
        console.print(f"no volumes for {s.get('method')}: {s.get('region_volume_method')}",
                      highlight=False)
    for note in (s.get("registration") or {}).get("notes", []):
        console.print(f"registration: {note}", highlight=False)
    table = Table(title="changed regions (largest first)")
    for col in ("#", "change", "area (m²)", "volume (m³)", "centroid E/N/H (site frame, m)",
                "max |d| (m)"):
        table.add_column(col, justify="left" if col in ("change",) else "right")
    for i, r in enumerate(s.get("regions", [])[:25], 1):
        volume = "–" if r.get("volume") is None else f"{r['volume']:+,.1f}"
        table.add_row(str(i), r["sign"], f"{r['area']:,.1f}", volume,
                      " / ".join(f"{c:.1f}" for c in r["centroid"]),
                      f"{r['max_abs_change']:.2f}")
    console.print(table)
    n = len(s.get("regions", []))
    if n > 25:
        console.print(f"… and {n - 25} smaller region(s) (--csv lists all)")


def _m(v) -> str:
    return "–" if v is None else f"{v:.3f} m"


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"
