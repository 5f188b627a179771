"""Stage 6, feedback: the learner's page and the notebook formgrader shows.

The learner sees the notebook as run, with hidden tests removed from the source, everything a
test cell printed after its hidden tests began dropped, errors in one line with the same labels
the notebook's own checks use, and no line of any hidden test anywhere (_scrub.py). Formgrader's
copy keeps the hidden tests; both lose the grader's own cells and markers.
"""

from __future__ import annotations

import contextlib
import copy
import re
from typing import Any

from .._display import label_of
from . import _scrub
from ._cells import HIDDEN_BEGIN, HIDDEN_END
from ._execute import one_line
from ._instrument import is_grader_cell, marked, unmark_output, unmark_source
from ._types import Item, Scored


def public_cell(cell: Any, token: str, hidden: bool) -> None:
    """Hidden tests out of the source; nothing the cell did after they began; one-line errors."""
    src = unmark_source(cell.get("source", ""), token)
    cell["source"] = re.sub(rf"{HIDDEN_BEGIN}.*?{HIDDEN_END}\n?", "", src, flags=re.S).rstrip()
    kept, in_hidden = [], False
    for out in cell.get("outputs", []):
        if in_hidden:
            if out.get("output_type") == "error":
                msg = out.get("evalue", "") if out.get("ename") == "AssertionError" else ""
                kept.append(_error("HiddenTestFailed", msg or "a hidden test failed"))
            continue
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            if marked(text, token, "hidden"):
                text = text.split(f"{token}:hidden")[0]
                in_hidden = True
            out["text"] = unmark_output(text, token)
            if out["text"]:
                kept.append(out)
        elif out.get("output_type") == "error":
            label = label_of(str(out.get("ename", "")))
            out["traceback"] = [f"{label}: {one_line(out.get('evalue', ''), 500)}"]
            kept.append(out)
        else:
            kept.append(out)
    cell["outputs"] = kept


def _error(ename: str, evalue: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _unmark_all(nb: Any, token: str, skip: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    for i, c in enumerate(nb.cells):
        if i in skip or c.cell_type != "code":
            continue
        c.source = unmark_source(c.source, token)
        for out in c.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"] = unmark_output(out.get("text", ""), token)


def formgrader_notebook(executed: Any, token: str) -> str:
    """The autograded notebook formgrader shows: grader cells out, markers out, hidden kept."""
    import nbformat

    nb = copy.deepcopy(executed)
    _unmark_all(nb, token)
    nb.cells = [c for c in nb.cells if not is_grader_cell(c)]
    return nbformat.writes(nb)


def feedback_notebook(executed: Any, token: str, by_cell: dict[int, Item], scored: Scored,
                      student: str, module: str, status: str, source_nb: dict) -> Any:  # fmt: skip
    """The learner's notebook: a score table first, then the run as they may see it."""
    import nbformat

    nb = copy.deepcopy(executed)
    _unmark_all(nb, token, skip=set(by_cell))
    for i, item in by_cell.items():
        public_cell(nb.cells[i], token, item.hidden)
    cells = [c for c in nb.cells if not is_grader_cell(c)]
    lines = [f"# Feedback: {module}, {student}", "",
             f"**Score: {scored.score:g} / {scored.max_score:g}**", ""]  # fmt: skip
    if status:
        lines += [f"> {status}", ""]
    lines += ["| item | points | max |", "|---|---|---|"]
    lines += [f"| {g} | {s.score:g} | {s.max:g} |" for g, s in scored.items.items()]
    nb.cells = [nbformat.v4.new_markdown_cell("\n".join(lines)), *cells]
    _scrub.scrub_notebook(nb, _scrub.hidden_lines(source_nb))
    return nb


_EXPORTER = None


def html(nb: Any) -> str:
    """The feedback page; the exporter is built once per worker process."""
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter

        _EXPORTER = HTMLExporter(template_name="lab")
        with contextlib.suppress(Exception):
            _EXPORTER.sanitize_html = True
    body, _ = _EXPORTER.from_notebook_node(nb)
    return body
