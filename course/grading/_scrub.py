"""No hidden test text in feedback, whatever the student's code printed.

Removing hidden tests from the test cells' sources is not enough: code in the kernel can see
every cell it runs (a pre_run_cell hook, an input transformer) and print it later, in any cell.
So every line of every hidden test is cut out of every output of the feedback notebook.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ._cells import hidden_blocks, source

MASK = "[hidden test]"
_MIN = 6  # shorter lines ("assert", "pass") say nothing and occur everywhere


def hidden_lines(source_nb: dict) -> list[str]:
    """Every line of every hidden test of the instructor's notebook, longest first."""
    lines: set[str] = set()
    for cell in source_nb.get("cells", []):
        for block in hidden_blocks(source(cell)):
            lines |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) >= _MIN}
    return sorted(lines, key=len, reverse=True)


def _variants(line: str) -> set[str]:
    """The forms a printed line takes: as is, HTML-escaped, inside a repr or JSON string."""
    forms = {line, html.escape(line), html.escape(line, quote=False), json.dumps(line)[1:-1]}
    forms.add(repr(line)[1:-1])
    return {f for f in forms if f}


def scrub_text(text: str, patterns: list[str]) -> str:
    if not text:
        return text
    for p in patterns:
        if p in text:
            text = text.replace(p, MASK)
    return text


def patterns_for(lines: list[str]) -> list[str]:
    pats = {v for ln in lines for v in _variants(ln)}
    return sorted(pats, key=len, reverse=True)


def _scrub_value(value: Any, patterns: list[str]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, patterns)
    if isinstance(value, list):
        return [_scrub_value(v, patterns) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v, patterns) for k, v in value.items()}
    return value


def scrub_notebook(nb: Any, lines: list[str]) -> None:
    """Mask every hidden-test line in every output (and student cell source) of `nb`."""
    patterns = patterns_for(lines)
    if not patterns:
        return
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown" or not cell.get("metadata", {}).get("nbgrader"):
            src = cell.get("source", "")
            cell["source"] = _scrub_value(src, patterns)
        for out in cell.get("outputs", []):
            for key in ("text", "evalue", "ename", "traceback", "data"):
                if key in out:
                    out[key] = _scrub_value(out[key], patterns)
