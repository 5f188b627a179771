"""Local record of check results, and course.progress(): which exercises pass."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from . import _paths


def _file() -> Path:
    return _paths.home() / "progress.json"


def load() -> dict[str, dict]:
    try:
        return json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}


def _save(state: dict[str, dict]) -> None:
    path = _file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass  # progress is a convenience: never fail a check because it cannot be saved


def record(item_id: str, status: str) -> None:
    state = load()
    entry = state.setdefault(item_id, {})
    entry.update(status=status, at=time.strftime("%Y-%m-%d %H:%M"))
    entry["attempts"] = entry.get("attempts", 0) + (status != "not attempted")
    _save(state)


def record_hint(item_id: str, level: int) -> None:
    state = load()
    entry = state.setdefault(item_id, {"status": "not run"})
    entry["hints"] = max(level, entry.get("hints", 0))
    _save(state)


_MARK = {
    "correct": "✓ correct",
    "incorrect": "✗ incorrect",
    "not attempted": "· not attempted",
    "recorded": "· recorded (graded quiz)",
}


def rows(module_id: str) -> list[dict[str, Any]]:
    from .checks._registry import Exercise, items

    state = load()
    out = []
    for it in items(module_id):
        entry = state.get(it.id, {})
        out.append(
            {
                "item": it.id,
                "what": it.title if isinstance(it, Exercise) else it.prompt,
                "status": _MARK.get(entry.get("status", ""), "not run"),
                "hints used": entry.get("hints", 0),
                "last checked": entry.get("at", ""),
            }
        )
    return out


def table(module_id: str) -> Any:
    """A pandas DataFrame (rendered as a table in a notebook) with a one-line summary printed."""
    import pandas as pd

    found = rows(module_id)
    if not found:  # a module whose checks are not written yet
        print(f"{module_id}: no exercises yet")
        return pd.DataFrame()
    frame = pd.DataFrame(found).set_index("item")
    done = int((frame["status"] == _MARK["correct"]).sum()) if len(frame) else 0
    print(f"{module_id}: {done} of {len(frame)} passed")
    return frame
