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


#: Inside `viewer/`, bottom to top; a package may import only those at or below its level.
#: `vr` and `export` sit on the model; the kiosk and the desktop beside each other on `qt`.
VIEWER_LEVELS = {
    "model": 0, "render": 1, "vr": 1, "qt": 2, "export": 2, "desktop": 3, "kiosk": 3,
    "commands": 4, "cli": 4,
}


def viewer_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "viewer" else None


@pytest.mark.parametrize("package", sorted(set(VIEWER_LEVELS) - {"cli"}))
def test_viewer_packages_import_downward(package: str) -> None:
    folder = ROOT / "viewer" / package
    if not folder.is_dir():
        pytest.skip(f"viewer/{package} does not exist yet")
    level = VIEWER_LEVELS[package]
    offences = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                target = viewer_package(node.module)
            elif isinstance(node, ast.Import):
                target = next((viewer_package(a.name) for a in node.names
                               if viewer_package(a.name)), None)
            else:
                continue
            same_top = {target, package} == {"cli", "commands"}  # commands register with cli
            if (target in VIEWER_LEVELS and target != package and not same_top
                    and VIEWER_LEVELS[target] >= level):
                offences.append(f"{path.relative_to(ROOT)} imports viewer.{target}")
    assert not offences, "\n".join(offences)


def test_viewer_model_imports_no_gui_or_renderer() -> None:
    """The model is shared by the desktop, the kiosk, VR and the exports: no Qt, VTK or GL."""
    code = (
        "import sys, pkgutil, importlib, viewer.model\n"
        "for m in pkgutil.iter_modules(viewer.model.__path__):\n"
        "    importlib.import_module('viewer.model.' + m.name)\n"
        "heavy = [m for m in ('PySide6', 'vtk', 'vtkmodules', 'pyvista', 'pyvistaqt', 'xr',"
        " 'OpenGL') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"viewer.model imported: {out.stdout.strip()}"
