"""Anonymous local counts for the museum's report: sessions, sites opened, stories started,
dwell time. No personal data, no times of day finer than the date, nothing leaves the
machine, and never the archive: a small JSON file the config names (off by default)."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import date
from pathlib import Path

log = logging.getLogger(__name__)


class Counts:
    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self._session_start: float | None = None
        self.data = self._load()

    def _load(self) -> dict:
        if self.path is None or not self.path.exists():
            return {"format": "stadtzeit-kiosk-counts/1", "days": {}}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("kiosk counts %s unreadable (%s): starting new counts", self.path, exc)
            return {"format": "stadtzeit-kiosk-counts/1", "days": {}}

    def _day(self) -> dict:
        return self.data["days"].setdefault(date.today().isoformat(), {
            "sessions": 0, "dwell_seconds": 0.0, "sites": {}, "stories": {}})

    def session_started(self) -> None:
        if self.path is None or self._session_start is not None:
            return
        self._session_start = time.monotonic()
        self._day()["sessions"] += 1

    def site_opened(self, site_id: str) -> None:
        if self.path is not None:
            sites = self._day()["sites"]
            sites[site_id] = sites.get(site_id, 0) + 1

    def story_started(self, story_id: str) -> None:
        if self.path is not None:
            stories = self._day()["stories"]
            stories[story_id] = stories.get(story_id, 0) + 1

    def session_ended(self) -> None:
        """At the idle timeout: add the dwell time and write the file (atomically)."""
        if self.path is None or self._session_start is None:
            return
        day = self._day()
        day["dwell_seconds"] = round(day["dwell_seconds"] + time.monotonic()
                                     - self._session_start, 1)
        self._session_start = None
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write kiosk counts %s: %s", self.path, exc)
