"""Shared fixtures: the real sample data folder and a small demo archive built once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewer.qt.refcount import keep_constants_alive

# PySide6 6.12 on Python 3.11 drops a reference to None on every void Qt call; pytest-qt's
# waiting loops make millions of them (see viewer/qt/refcount.py)
keep_constants_alive()

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

#: Point density of the demo in tests (1.0 is the full demo): small enough for CI's 2 cores,
#: dense enough that every true change is sampled.
DEMO_TEST_DENSITY = 0.3


def shared_data(*parts: str) -> Path:
    """A file or folder of ../shared/data; skips the test, saying why, when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample data not found at {path} (expected ../shared/data beside "
                    "the repository)")
    return path


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    """The demo sources (at test density) and an archive with all three epochs ingested.

    Read-only for tests: copy the archive (``copy_archive``) before writing to it.
    """
    from archive import Archive
    from processing.demo import build_demo_sources
    from processing.ingest import ingest

    base = tmp_path_factory.mktemp("demo")
    sources = build_demo_sources(base / "sources", seed=7, density=DEMO_TEST_DENSITY,
                                 texture_size=512)
    archive = Archive.init(base / "archive", durable=False)
    report = ingest(sources.manifest_path, archive, user="pytest")
    return sources, archive, report


def copy_archive(archive, dest: Path):
    """A writable copy of an archive (hard links would share read-only content: copy)."""
    import shutil

    from archive import Archive

    shutil.copytree(archive.root, dest, symlinks=True)
    return Archive.open(dest, durable=False)
