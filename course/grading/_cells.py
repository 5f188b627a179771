"""Reading notebook cells as JSON from anywhere: the submission's, the instructor's, ours.

Every accessor tolerates a malformed cell, since submissions are hostile input."""

from __future__ import annotations

from typing import Any

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def source(cell: Any) -> str:
    s = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(s) if isinstance(s, list) else str(s)


def nbgrader(cell: Any) -> dict:
    """The cell's nbgrader metadata, or {}."""
    if not isinstance(cell, dict):
        return {}
    m = cell.get("metadata", {})
    m = m.get("nbgrader", {}) if isinstance(m, dict) else {}
    return m if isinstance(m, dict) else {}


def grade_id(cell: Any) -> str | None:
    gid = nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def hidden_blocks(text: str) -> list[str]:
    """The hidden tests of a cell's source, block by block."""
    blocks = []
    while HIDDEN_BEGIN in text:
        _, rest = text.split(HIDDEN_BEGIN, 1)
        block, _, text = rest.partition(HIDDEN_END)
        blocks.append(block)
    return blocks


def by_grade_id(nb: dict) -> dict[str, dict]:
    """{grade id: cell} of a notebook the grader trusts (the instructor's, the release)."""
    return {gid: c for c in nb.get("cells", []) if (gid := grade_id(c))}
