"""``stadtzeit manifest``: check site manifests and print their JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assets_manifest import ManifestError, StadtzeitError, load_manifest, verify_sources
from assets_manifest.schema import schema_text
from processing.manifest_check import manifest_problems

_FORMAT_HELP = ("The format is described in docs/MANIFEST.md; 'stadtzeit manifest example' "
                "lists and copies examples.")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "manifest", help="check site manifests, print their JSON Schema",
        description="Work with site manifests: the TOML files in which an archivist "
                    "describes a site and its epochs (captures). " + _FORMAT_HELP)
    actions = parser.add_subparsers(dest="manifest_action", metavar="ACTION")

    validate = actions.add_parser(
        "validate", help="check manifest files and report every problem",
        description="Check site manifests. Prints 'FILE: valid (site ID, N epochs)' for a "
                    "good file; for a bad one prints every problem as "
                    "'FILE: field.path: reason' on stderr. Exit status 1 if any file is "
                    "invalid.",
        epilog="example: stadtzeit manifest validate --check-sources sites/*.toml")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE",
                          help="site manifest (.toml)")
    validate.add_argument(
        "--check-sources", action="store_true",
        help="also check that every source file exists and matches its sha256 (reads every "
             "file in full: slow for large deliveries)")
    validate.set_defaults(func=_validate)

    schema = actions.add_parser(
        "schema", help="print or write the JSON Schema of site manifests",
        description="Print the JSON Schema (draft 2020-12) of site manifests, for editors "
                    "and other tools. Put '#:schema PATH' on the first line of a TOML file "
                    "to let TOML editors (Taplo, Even Better TOML) check it as you type.")
    schema.add_argument("-o", "--output", type=Path, metavar="PATH",
                        help="write the schema to PATH instead of printing it")
    schema.set_defaults(func=_schema)

    show = actions.add_parser(
        "show", help="print a manifest as validated JSON (what the archive stores)",
        description="Validate one manifest and print it as JSON, with defaults filled in "
                    "(e.g. the preset of each epoch): the site.json the archive stores.")
    show.add_argument("file", type=Path, metavar="FILE", help="site manifest (.toml)")
    show.set_defaults(func=_show)

    example = actions.add_parser(
        "example", help="print or copy the example manifests that come with stadtzeit",
        description="Without NAME: list the example site manifests. With NAME: print it, or "
                    "copy it with -o (a file name, or a folder to copy it into). Start a new "
                    "site from a copy.",
        epilog="example: stadtzeit manifest example gasometer -o my-site.toml")
    example.add_argument("name", nargs="?", metavar="NAME", help="example name, e.g. gasometer")
    example.add_argument("-o", "--output", type=Path, metavar="PATH",
                         help="copy the example to PATH instead of printing it")
    example.set_defaults(func=_example)

    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _print_problems(label: str, exc: ManifestError) -> None:
    for field, reason in exc.problems:
        print(f"{label}: {field}: {reason}" if field else f"{label}: {reason}",
              file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for file in args.files:
        label = str(file)
        try:
            manifest = load_manifest(file)
            checked = verify_sources(manifest) if args.check_sources else None
            problems = manifest_problems(manifest, sources=args.check_sources)
            if problems:
                raise ManifestError(file, problems)
        except ManifestError as exc:
            _print_problems(label, exc)
            failed += 1
            continue
        count = len(manifest.epochs)
        line = f"{label}: valid (site {manifest.id}, {count} epoch{'s' if count != 1 else ''})"
        if checked is not None:
            digests = sum(1 for e in manifest.epochs for s in e.sources if s.sha256)
            line += f", {len(checked)} source files present, {digests} sha256 matched"
        print(line)
    if failed and len(args.files) > 1:
        print(f"{failed} of {len(args.files)} manifests invalid", file=sys.stderr)
    return 1 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StadtzeitError(f"cannot write {args.output}: {exc.strerror or exc}; check that "
                             "the folder is writable") from None
    print(f"wrote {args.output}")
    return 0


def _show(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.file)  # a ManifestError is printed by viewer/cli.py
    json.dump(manifest.to_json_dict(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _examples() -> dict[str, object]:
    """Shipped example manifests (package data of assets_manifest), by name."""
    from importlib.resources import files

    sites = files("assets_manifest") / "sites"
    return {p.name.removesuffix(".toml"): p for p in sorted(sites.iterdir(), key=str)
            if p.name.endswith(".toml")}


def _example(args: argparse.Namespace) -> int:
    examples = _examples()
    if args.name is None:
        for name in examples:
            print(name)
        return 0
    if args.name not in examples:
        raise StadtzeitError(f"no example manifest {args.name!r}; the examples are: "
                             f"{', '.join(examples)}")
    data = examples[args.name].read_bytes()
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
        return 0
    target = args.output / f"{args.name}.toml" if args.output.is_dir() else args.output
    if target.exists():
        raise StadtzeitError(f"{target} exists already; choose another name or remove it")
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise StadtzeitError(f"cannot write {target}: {exc.strerror or exc}; check that the "
                             "folder exists and is writable") from None
    print(f"wrote {target}")
    return 0
