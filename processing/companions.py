"""Files a source depends on without being listed: an OBJ's MTL and textures, a glTF's buffers,
a PLY's ``TextureFile``, the image beside a VTK file with texture coordinates.

The archive must keep the originals complete, so ingest stores these next to the source file,
under the same relative path, even when the manifest lists only the main file.
"""

from __future__ import annotations

import json
from pathlib import Path

from processing.errors import ReaderError


def companions(path: Path) -> list[Path]:
    """Existing files that ``path`` refers to, relative to its folder, in a stable order."""
    return [p for p in _referenced(path) if p.is_file()]


def missing_companions(path: Path) -> list[str]:
    """Names ``path`` refers to (an OBJ's MTL and textures, a PLY's TextureFile, a glTF's
    buffers and images) that are not there: a delivery that cannot be reproduced."""
    return [p.relative_to(path.parent.resolve()).as_posix() for p in _referenced(path)
            if not p.is_file()]


def check_companions(path: Path) -> None:
    """Refuse a source whose material library, textures or buffers are missing."""
    missing = missing_companions(path)
    if missing:
        raise ReaderError(path, (
            f"refers to {', '.join(map(repr, missing))}, not found next to it; copy the "
            "file(s) from the delivery into the same folder (the archive keeps them with the "
            "source), or remove the reference to ingest the mesh without them"))


def _referenced(path: Path) -> list[Path]:
    """Every file ``path`` refers to, resolved, existing or not."""
    suffix = path.suffix.lower()
    if suffix == ".obj":
        found = _obj_companions(path)
    elif suffix == ".gltf":
        found = _gltf_companions(path)
    elif suffix == ".ply":
        found = _ply_companions(path)
    elif suffix in (".vtk", ".vtp"):
        sibling = sibling_texture(path)
        found = [sibling.name] if sibling else []
    else:
        return []
    base = path.parent.resolve()
    out: list[Path] = []
    for p in found:
        resolved = (path.parent / p).resolve()
        if not resolved.is_relative_to(base):
            raise ReaderError(path, f"refers to {p!r} outside its folder; copy the file next "
                                    "to the source so the archive can keep it")
        if resolved not in out:
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


def _ply_companions(path: Path) -> list[str]:
    """``comment TextureFile NAME`` lines of the header (MeshLab/VCG write them)."""
    with open(path, "rb") as f:
        head = f.read(65536)
    end = head.find(b"end_header")
    out = []
    for line in head[:end if end >= 0 else len(head)].decode("latin-1").splitlines():
        parts = line.strip().split(maxsplit=2)
        if len(parts) == 3 and parts[0] == "comment" and parts[1] == "TextureFile":
            out.append(parts[2].strip())
    return out


def sibling_texture(path: Path) -> Path | None:
    """The image beside a VTK file that readers take as its texture (same stem)."""
    for ext in (".png", ".jpg", ".jpeg", ".PNG", ".JPG"):
        candidate = path.with_suffix(ext)
        if candidate.is_file():
            return candidate
    return None
