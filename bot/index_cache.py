"""A folder of index analyses (knowledge.index.Analysis), so a process that loads a policy it
has loaded before starts in a fraction of the time: `staffbot ask` is one process per question.

Each is a JSON file named by its key, a digest of everything it was worked out from, so an
edited policy, vocabulary or new version of the bot is simply not found. It holds the
policy's own wording, nothing from the database. Keeping one is best effort: a folder that
cannot be written costs only speed.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

KEPT = 4  # analyses kept (a few policy versions, or a test and a live folder side by side)
ANALYSIS_FILE = re.compile(r"index-[0-9a-f]{64}\.json")  # only ours are ever removed, the folder may be shared
ABANDONED_AFTER = 3600.0  # seconds after which a half-written file is a killed writer's


class IndexCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, key: str) -> Path:
        return self.folder / f"index-{key}.json"

    def get(self, key: str) -> str | None:
        try:
            return self._file(key).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, key: str, text: str) -> None:
        """Write atomically (a reader never sees half a file), then drop all but the newest KEPT and
        what writers killed mid-write left."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".index-", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(temporary, self._file(key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            ours = (p for p in self.folder.glob("index-*.json") if ANALYSIS_FILE.fullmatch(p.name))
            newest_first = sorted(ours, key=_modified, reverse=True)
            abandoned = [p for p in self.folder.glob(".index-*.tmp") if _modified(p) < time.time() - ABANDONED_AFTER]
            for old in [*newest_first[KEPT:], *abandoned]:
                old.unlink(missing_ok=True)
        except OSError as exc:
            log.info("index analysis not kept in %s: %s", self.folder, exc)


def _modified(path: Path) -> float:
    """When `path` was last written; 0 (the oldest) for a file another process removed meanwhile."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
