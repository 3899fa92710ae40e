"""The published folder's web page: CesiumJS from npm, bundled into the folder, fully offline.

No Cesium ion token and no internet: the globe's only imagery is Natural Earth II, which ships
inside CesiumJS's own build. The page reads its data (epochs, pairs, annotations, licence)
from a JSON block in the page itself, so it needs nothing but static files.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path
from typing import Any

from processing.errors import ProcessingError

#: Where ``npm ci`` in ``js/`` puts the CesiumJS build (see .ci/setup).
REPO_WEB = Path(__file__).resolve().parents[2] / "js"
CESIUM_BUILD = ("node_modules", "cesium", "Build", "Cesium")
_SKIP = {"index.js", "index.cjs"}  # ES module / CommonJS builds: the page loads Cesium.js


def find_cesium(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The CesiumJS build folder: ``explicit``, ``$STADTZEIT_CESIUM``, or ``js/node_modules``."""
    candidates = [Path(explicit)] if explicit else []
    if os.environ.get("STADTZEIT_CESIUM"):
        candidates.append(Path(os.environ["STADTZEIT_CESIUM"]))
    candidates.append(REPO_WEB.joinpath(*CESIUM_BUILD))
    for c in candidates:
        if (c / "Cesium.js").is_file() and (c / "Widgets" / "widgets.css").is_file():
            return c
    raise ProcessingError(
        "CesiumJS was not found (looked in " + ", ".join(str(c) for c in candidates) + "); run "
        "`npm ci` in the repository's js/ folder (.ci/setup does), or pass --cesium with the "
        "folder holding Cesium.js (node_modules/cesium/Build/Cesium)")


def copy_cesium(build: Path, dst: Path) -> None:
    shutil.copytree(build, dst, ignore=lambda d, names: [n for n in names if n in _SKIP
                                                         and Path(d) == build])
    package = build.parents[1]
    for name in ("LICENSE.md", "package.json"):
        if (package / name).is_file():
            shutil.copyfile(package / name, dst / name)


def write_page(out: Path, data: dict[str, Any], *, name: str = "index.html",
               template: str | None = None) -> Path:
    """Write ``out/index.html`` for ``data`` (see ``processing.publish.publish``); another
    ``template`` text (an older page, for benchmarks) under another ``name``."""
    if template is None:
        template = (Path(__file__).with_name("index.html")).read_text(encoding="utf-8")
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = (template.replace("{{DATA}}", blob)
            .replace("{{TITLE}}", html.escape(data["name"]["en"] or data["site"]))
            .replace("{{ATTRIBUTION}}", html.escape(data["attribution"]))
            .replace("{{LICENCE}}", html.escape(data["licence"])))
    path = out / name
    path.write_text(page, encoding="utf-8")
    return path
