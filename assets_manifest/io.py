"""Reading site manifests from TOML and checking their source files."""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from collections.abc import Iterable
from datetime import date
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from assets_manifest.errors import ManifestError
from assets_manifest.models import SiteManifest, format_field_path, validation_problems

__all__ = ["VerifiedSource", "load_manifest", "parse_manifest", "read_manifest_bytes",
           "verify_sources"]


def load_manifest(path: str | PathLike[str]) -> SiteManifest:
    """Read, parse and validate a site manifest TOML file.

    Raises :class:`ManifestError` naming the file and every problem found, each with its
    field path (``epochs[1] (2024-05-02).capture``).
    """
    file = Path(path)
    return parse_manifest(read_manifest_bytes(file), file)


#: A manifest is a hand-written text file: the largest real ones are a few kilobytes.
MAX_MANIFEST_BYTES = 1 << 20
#: Tables and lists inside each other: a site manifest needs 4 (epochs -> sources -> entry).
MAX_MANIFEST_DEPTH = 16


def read_manifest_bytes(path: str | PathLike[str]) -> bytes:
    """The bytes of the manifest at ``path``: a regular file of at most MAX_MANIFEST_BYTES.

    Devices (``/dev/zero``), FIFOs and folders are refused before reading: they could block or
    never end."""
    file = Path(path)
    try:
        with open(file, "rb", opener=_open_nonblocking) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a pipe (FIFO)"
                        if stat.S_ISFIFO(st.st_mode) else "a device or socket")
                raise ManifestError(file, [("", f"is {kind}, not a regular file; give the "
                                                "path of the manifest's .toml file")])
            data = f.read(MAX_MANIFEST_BYTES + 1)
    except IsADirectoryError:
        raise ManifestError(file, [("", "is a folder, not a regular file; give the path of "
                                        "the manifest's .toml file")]) from None
    except OSError as exc:
        raise ManifestError(file, [("", f"cannot read the file ({exc.strerror or exc}); check "
                                        "the path")]) from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(file, [("", (
            f"is larger than {MAX_MANIFEST_BYTES // 1024} KiB; a site manifest is a short "
            "text file (list source files, do not paste data into it)"))])
    return data


def _open_nonblocking(name: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
    return os.open(name, flags | os.O_NONBLOCK)


def parse_manifest(data: bytes, path: str | PathLike[str]) -> SiteManifest:
    """Validate manifest bytes already read from ``path``.

    For callers that store the exact bytes they validated (the archive keeps ``site.toml``
    bit-exact): read once, validate these bytes, store the same bytes.
    """
    file = Path(path)
    raw = _parse_toml(data, file)
    try:
        manifest = SiteManifest.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(file, validation_problems(exc, raw)) from None
    manifest._path = file.absolute()
    return manifest


def _parse_toml(data: bytes, file: Path) -> dict[str, Any]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte order mark (Windows editors add one) is still UTF-8
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ManifestError(file, [("", (
            f"not UTF-8 text: byte {data[exc.start]:#04x} at line {line}, column {column} "
            "cannot be decoded; save the file with the encoding UTF-8"))]) from None
    too_deep = ManifestError(file, [("", (
        f"tables or lists are nested more than {MAX_MANIFEST_DEPTH} levels deep; a site "
        "manifest needs at most 4 (see docs/MANIFEST.md)"))])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(file, [("", (
            f"TOML syntax error: {exc}; fix that line (text needs quotes, tables are "
            "written [name], lists [a, b], repeated tables [[epochs]])"))]) from None
    except RecursionError:
        raise too_deep from None
    if _depth(data) > MAX_MANIFEST_DEPTH:
        raise too_deep
    return data


def _depth(value: Any) -> int:
    """Nesting depth of tables and lists, without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level + 1)
            stack.extend((v, level + 1) for v in (node.values() if isinstance(node, dict)
                                                  else node))
    return deepest


class VerifiedSource(NamedTuple):
    """A source file that exists and matches its manifest entry."""

    epoch_id: str
    path: Path
    sha256: str  # the actual digest, computed from the file


def verify_sources(manifest: SiteManifest,
                   epochs: Iterable[str | date] | None = None) -> list[VerifiedSource]:
    """Check that every source file exists and, where ``sha256`` is given, matches it.

    ``epochs`` limits the check to these epoch ids. Files are hashed in chunks, so large
    deliveries do not fill the memory. Raises one :class:`ManifestError` listing every missing
    or different file, with the expected and actual digest and what to do.
    """
    wanted = None if epochs is None else {
        e.isoformat() if isinstance(e, date) else str(e) for e in epochs}
    if wanted is not None:
        for epoch_id in sorted(wanted):
            manifest.epoch(epoch_id)  # raises UnknownEpochError naming the known epochs
    raw = manifest.to_json_dict()  # for field paths with epoch ids
    name = str(manifest.manifest_path or f"<site {manifest.id}>")
    verified: list[VerifiedSource] = []
    problems: list[tuple[str, str]] = []
    for e_index, epoch in enumerate(manifest.epochs):
        if wanted is not None and epoch.id not in wanted:
            continue
        for s_index, source in enumerate(epoch.sources):
            where = ("epochs", e_index, "sources", s_index)
            path = manifest.resolve_source(source)
            if not path.is_file():
                state = "is not a file" if path.exists() else "does not exist"
                problems.append((format_field_path((*where, "path"), raw), (
                    f"epoch {epoch.id}: source file {path} {state}; copy the delivered file "
                    "there or correct 'path' (relative paths start at the manifest's folder)")))
                continue
            try:
                with path.open("rb") as stream:
                    actual = hashlib.file_digest(stream, "sha256").hexdigest()
            except OSError as exc:
                problems.append((format_field_path((*where, "path"), raw), (
                    f"epoch {epoch.id}: cannot read source file {path} "
                    f"({exc.strerror or exc}); check its permissions")))
                continue
            if source.sha256 is not None and actual != source.sha256:
                problems.append((format_field_path((*where, "sha256"), raw), (
                    f"epoch {epoch.id}: source file {path} does not match the manifest: "
                    f"expected sha256 {source.sha256}, actual {actual}. The file was changed "
                    "or is a different file: get a fresh copy from the supplier and check "
                    "again; only if this file is the right one, put the actual digest into "
                    "the manifest")))
                continue
            verified.append(VerifiedSource(epoch.id, path, actual))
    if problems:
        raise ManifestError(name, problems, summary="source files do not match the manifest")
    return verified
