"""The four packages import only downward: viewer -> processing -> archive -> assets_manifest."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["assets_manifest", "archive", "processing", "viewer"]  # bottom to top


def imported_top_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_downward(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    forbidden = set(LAYERS) - allowed
    offences = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = imported_top_packages(path) & forbidden
        if bad:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offences, f"{layer} may import only {sorted(allowed)}:\n" + "\n".join(offences)


def test_import_checker_sees_violations(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("import os\nfrom viewer.cli import main\nfrom . import sibling\n")
    assert imported_top_packages(bad) == {"os", "viewer"}


def test_cli_starts_without_gui_libraries() -> None:
    """`stadtzeit ingest` must run on a headless server: no Qt, VTK or OpenXR at start-up."""
    code = (
        "import sys, viewer.cli\n"
        "viewer.cli.build_parser()\n"
        "heavy = [m for m in ('PySide6', 'vtk', 'pyvista', 'pyvistaqt', 'xr', 'OpenGL')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"imported at CLI start-up: {out.stdout.strip()}"
