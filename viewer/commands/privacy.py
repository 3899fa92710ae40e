"""``stadtzeit privacy``: check public products, find epochs, erase them, set the group.

    stadtzeit privacy check SITE                       faces/plates left in public textures?
    stadtzeit privacy find SITE --from D --to D        epochs captured then, versions holding them
    stadtzeit privacy erase SITE --epoch E --reason R --restricted [--dry-run]
    stadtzeit privacy migrate SITE --restricted [--dry-run]   a site ingested before the step
    stadtzeit privacy group GROUP                      who may read the restricted objects
"""

from __future__ import annotations

import argparse
import getpass
import sys

from viewer.cli import add_archive_option, archive_path

DESCRIPTION = """\
Public products (points, meshes, textures) are what the kiosk, VR, exports and publish read;
the originals and the privacy step's records stay in the restricted object <site>--restricted,
readable only with --restricted and the operating system's permission. See docs/PRIVACY.md.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("privacy", help="privacy: check, find, erase, restricted group",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="privacy_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    p = actions.add_parser("check", help="run the face and plate detectors on public textures",
                           description="Run the detectors again on every texture of a site's "
                           "public products (head version); exit 1 if any face or plate is "
                           "found.")
    p.add_argument("site", metavar="SITE")
    add_archive_option(p)
    p.set_defaults(func=_check)

    p = actions.add_parser("find", help="epochs captured in a date range, and where they are",
                           description="List the epochs captured between two dates (the capture "
                           "date is the epoch id) and the versions of the public and restricted "
                           "objects that hold their files: the first step of an erasure request.")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--restricted", action="store_true",
                   help="also look into the restricted object (archivists)")
    add_archive_option(p)
    p.set_defaults(func=_find)

    p = actions.add_parser(
        "erase", help="erase epochs from a site's whole history (public and restricted)",
        description="Rebuild the site's public and restricted OCFL objects without the given "
        "epochs (their products, originals and the changes that involve them) in every "
        "version, record the erasure in privacy/erasures.json, and delete the old objects. "
        "Version numbers after the erased ingests shift (the record lists old -> new).")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--epoch", action="append", required=True, dest="epochs", metavar="ID")
    p.add_argument("--reason", required=True,
                   help="the request's reference, e.g. 'DSGVO-2026-017' (never a name)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.add_argument("--restricted", action="store_true",
                   help="required: the erasure rewrites the restricted object too")
    p.add_argument("--user", default=None)
    add_archive_option(p)
    p.set_defaults(func=_erase)

    p = actions.add_parser(
        "migrate", help="a site ingested before the privacy step: originals out of the public "
        "history, products re-derived with the step",
        description="Copy the originals that the site's public object holds (any version) "
        "into its restricted object, ingest again (with the privacy step) the epochs whose "
        "products were made without it, then rebuild the public object's history without the "
        "originals, those products and the change products made from them. Version numbers may "
        "shift (privacy/migrations.json lists old -> new). A second run changes nothing.")
    p.add_argument("site", metavar="SITE")
    p.add_argument("--dry-run", action="store_true", help="only say what would change")
    p.add_argument("--restricted", action="store_true",
                   help="required: the migration writes the restricted object")
    p.add_argument("--user", default=None)
    add_archive_option(p)
    p.set_defaults(func=_migrate)

    p = actions.add_parser("group", help="the group that may read restricted objects",
                           description="Record GROUP as the archive's restricted group and give "
                           "every restricted object to it (folders 0750, files 0440 or 0640: no "
                           "access for others). Public programs run as users outside GROUP.")
    p.add_argument("group", metavar="GROUP")
    add_archive_option(p)
    p.set_defaults(func=_group)


def _open(args: argparse.Namespace, restricted: bool = False):
    from archive import Archive

    return Archive.open(archive_path(args), include_restricted=restricted)


def _check(args: argparse.Namespace) -> int:
    from processing.privacy.check import check_textures

    found = check_textures(_open(args).read(args.site))
    for logical, boxes in found.items():
        kinds = ", ".join(sorted({b.kind for b in boxes}))
        print(f"{logical}: {len(boxes)} detection(s) ({kinds})")
    if found:
        print(f"{sum(map(len, found.values()))} face(s)/plate(s) found in public textures",
              file=sys.stderr)
        return 1
    print(f"{args.site}: no face or number plate found in any public texture")
    return 0


def _find(args: argparse.Namespace) -> int:
    from archive.restricted import restricted_id

    archive = _open(args, args.restricted)
    ids = [args.site] + ([restricted_id(args.site)] if args.restricted else [])
    hits: dict[str, dict[str, list[int]]] = {}
    for obj in ids:
        if obj != args.site and not archive.exists(obj):
            continue
        head = archive.read(obj)
        for n in range(1, head.head + 1):
            for logical in archive.read(obj, n).files:
                parts = logical.split("/")
                if parts[0] == "epochs" and args.start <= parts[1] <= args.end:
                    versions = hits.setdefault(parts[1], {}).setdefault(obj, [])
                    if n not in versions:
                        versions.append(n)
    if not hits:
        print(f"{args.site}: no epoch captured between {args.start} and {args.end}")
        return 0
    for epoch, objs in sorted(hits.items()):
        where = "; ".join(f"{o}: v{min(v)}..v{max(v)} ({len(v)} versions)"
                          for o, v in objs.items())
        print(f"{epoch}  {where}")
    print(f"erase with: stadtzeit privacy erase {args.site} "
          + " ".join(f"--epoch {e}" for e in sorted(hits)) + " --reason REF --restricted")
    return 0


def _erase(args: argparse.Namespace) -> int:
    from archive.erase import erase_epochs

    archive = _open(args, args.restricted)
    plans = erase_epochs(archive, args.site, args.epochs, reason=args.reason,
                         user=args.user or getpass.getuser(), dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for p in plans:
        print(f"{p.object_id}: {verb} {len(p.files)} file(s) from its history; versions "
              f"dropped: {', '.join(f'v{n}' for n in p.versions_dropped) or 'none'}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from processing.privacy.migrate import migrate

    archive = _open(args, args.restricted)
    p = migrate(archive, args.site, user=args.user or getpass.getuser(), dry_run=args.dry_run)
    if p.empty:
        print(f"{args.site}: nothing to migrate (no original in the public history, every "
              "product made with the privacy step where the manifest wants it)")
        return 0
    for line in p.lines():
        print(("would " if args.dry_run else "") + line)
    if not args.dry_run:
        print(f"{args.site}: migrated; run stadtzeit compare again for the dropped change "
              "products, if any")
    return 0


def _group(args: argparse.Namespace) -> int:
    from archive.restricted import set_group

    done = set_group(_open(args, True), args.group)
    print(f"restricted group: {args.group} ({len(done)} restricted object(s) updated)")
    return 0
