"""Stage 2, instrument: the grader's markers and cells around every test cell. Pure.

A test cell earns its points only when a marker printed by its own last line arrives (and one
printed before its hidden tests, when it has them): an exception hidden by patching IPython never
reaches that line. Before each test cell a reset cell puts IPython back; after it, a recording
cell prints the values its checks received, under a nonce. One spare cell at the end (never run
in order) is where the kernel's end of the clean check's socket runs.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace

from . import _records
from ._cells import HIDDEN_BEGIN, grade_id, source
from ._types import Item

GRADER_KEY = "course_grader"  # metadata of the grader's own cells
SERVE_KEY = "course_serve"  # metadata of the spare cell that serves the socket


@dataclass(frozen=True)
class Instrumented:
    nb: dict
    by_cell: dict[int, Item]  # test cell index -> its item (record_at, nonce set)
    token: str

    @property
    def records(self) -> dict[int, tuple[int, Item]]:
        """{recording cell index: (test cell index, item)}."""
        return {it.record_at: (i, it) for i, it in self.by_cell.items() if it.record_at is not None}


def new_token() -> str:
    return "GRADER" + secrets.token_hex(8)


def instrument(nb: dict, items: tuple[Item, ...], token: str) -> Instrumented:
    """A copy of `nb` with the grader's cells; the notebook's own cells keep their order."""
    auto = {it.grade_id: it for it in items if it.auto}
    cells: list[dict] = []
    where: dict[int, Item] = {}
    for cell in nb["cells"]:
        item = auto.get(grade_id(cell) or "")
        if item is None:
            cells.append(dict(cell))
            continue
        text = source(cell)
        if HIDDEN_BEGIN in text:
            text = text.replace(HIDDEN_BEGIN, f"{_mark(token, 'hidden')}\n{HIDDEN_BEGIN}", 1)
        cells.append(_grader_cell(_records.reset_cell()))
        at = len(cells)
        cells.append({**cell, "source": text.rstrip() + "\n" + _mark(token, "done")})
        if item.exprs:
            record, nonce = _records.record_cell(item.exprs)
            item = replace(item, record_at=len(cells), nonce=nonce)
            cells.append(_grader_cell(record))
        where[at] = item
    cells.append(_grader_cell("pass", **{SERVE_KEY: True}))
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i}"
    return Instrumented({**nb, "cells": cells}, where, token)


def _mark(token: str, what: str) -> str:
    return f'print("{token}:{what}", flush=True)'


def _grader_cell(text: str, **meta: bool) -> dict:
    return {"cell_type": "code", "metadata": {GRADER_KEY: True, **meta}, "source": text,
            "outputs": [], "execution_count": None}  # fmt: skip


def serve_index(cells: list) -> int:
    """Where the spare serve cell is, or -1."""
    return next((i for i, c in enumerate(cells) if c.get("metadata", {}).get(SERVE_KEY)), -1)


def is_grader_cell(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get(GRADER_KEY))


def marked(text: str, token: str, what: str) -> bool:
    return f"{token}:{what}" in text


def unmark_source(text: str, token: str) -> str:
    """A test cell's source without the markers `instrument` put in."""
    return text.replace(_mark(token, "hidden") + "\n", "").replace("\n" + _mark(token, "done"), "")


def unmark_output(text: str, token: str) -> str:
    """Printed text without the marker lines."""
    return re.sub(rf"^{token}:\w+\n?", "", text, flags=re.M)
