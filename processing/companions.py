"""Files a source depends on without being listed: an OBJ's MTL and textures, a glTF's buffers.

The archive must keep the originals complete, so ingest stores these next to the source file,
under the same relative path, even when the manifest lists only the main file.
"""

from __future__ import annotations

import json
from pathlib import Path

from processing.errors import ReaderError


def companions(path: Path) -> list[Path]:
    """Existing files that ``path`` refers to, relative to its folder, in a stable order."""
    suffix = path.suffix.lower()
    if suffix == ".obj":
        found = _obj_companions(path)
    elif suffix == ".gltf":
        found = _gltf_companions(path)
    else:
        return []
    base = path.parent.resolve()
    out: list[Path] = []
    for p in found:
        resolved = (path.parent / p).resolve()
        if not resolved.is_relative_to(base):
            raise ReaderError(path, f"refers to {p!r} outside its folder; copy the file next "
                                    "to the source so the archive can keep it")
        if resolved.is_file() and resolved not in out:
            out.append(resolved)
    return out


def _directive_values(path: Path, keywords: tuple[str, ...]) -> list[str]:
    values = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.strip().split(maxsplit=1)
            if len(parts) == 2 and parts[0] in keywords:
                values.append(_strip_options(parts[1]))
    return values


def _strip_options(value: str) -> str:
    """MTL texture statements may start with options (`-s 1 1 1 file.png`); names may contain
    spaces (`fuze uv.jpg`), so the name is everything after the last option's arguments."""
    tokens = value.split(" ")
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):
        i += 1
        while i < len(tokens) - 1 and _is_number(tokens[i]):
            i += 1
    return " ".join(tokens[i:]).strip()


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return token in ("on", "off")
    return True


def _obj_companions(path: Path) -> list[str]:
    out: list[str] = []
    for mtl in _directive_values(path, ("mtllib",)):
        out.append(mtl)
        mtl_path = path.parent / mtl
        if mtl_path.is_file():
            maps = ("map_Ka", "map_Kd", "map_Ks", "map_Ns", "map_d", "map_bump", "bump",
                    "disp", "norm", "map_Pr", "map_Pm", "map_Ke")
            rel = Path(mtl).parent
            out.extend(str(rel / t) for t in _directive_values(mtl_path, maps))
    return out


def _gltf_companions(path: Path) -> list[str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReaderError(path, f"not a readable glTF JSON file ({exc})") from exc
    uris = [b.get("uri") for b in doc.get("buffers", [])] + \
        [i.get("uri") for i in doc.get("images", [])]
    return [u for u in uris if u and not u.startswith("data:")]
