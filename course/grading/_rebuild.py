"""Stage 1, rebuild: the notebook to execute is the instructor's, cell by cell, in its order.

Every locked cell, test cell and hidden test comes from the instructor; only the student's
answer cells (matched by grade id) and the student's own extra cells come from the submission.
Edited, deleted, duplicated or reordered grade cells, changed points or cell types, a different
kernel or a foreign schema_version cannot change what is run or what it is worth; each is listed
in the notes. Pure: no file, no process.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

from ._cells import HIDDEN_BEGIN, by_grade_id, grade_id, nbgrader, source
from ._types import Call, Item, Rebuilt

MAX_EXTRA_CELLS = 400  # cells a submission may add; more are dropped with a note


def check_calls(text: str) -> tuple[Call, ...]:
    """`course.check("id", a=x)` / `course.quiz.check("id", x)` calls in a test cell's visible part."""
    try:
        tree = ast.parse(text.split(HIDDEN_BEGIN)[0])
    except SyntaxError:
        return ()
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = ast.unparse(node.func)
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if name == "course.check":
            args = {k.arg: ast.unparse(k.value) for k in node.keywords if k.arg}
            calls.append(Call("check", first.value, args))
        elif name == "course.quiz.check" and len(node.args) == 2:
            calls.append(Call("quiz", first.value, {"answer": ast.unparse(node.args[1])}))
    return tuple(calls)


def rebuild(src_nb: dict, release: dict, student: Any) -> Rebuilt:
    """The notebook to execute, its graded items, and notes on what the submission changed.

    Raises ValueError when `student` is not a notebook at all."""
    if not isinstance(student, dict) or not isinstance(student.get("cells"), list):
        raise ValueError("no list of cells")
    notes = _header_notes(student)
    inst = by_grade_id(src_nb)
    stubs = by_grade_id(release)
    answer_ids = {g for g, c in inst.items() if nbgrader(c).get("solution")}
    answers, extras, seen = _read_student(
        student, inst, stubs, answer_ids, _given(src_nb, release), notes
    )
    _cap_extras(extras, notes)
    missing = [g for g in inst if g not in seen]
    if missing:
        notes.append(f"{len(missing)} cell(s) missing, restored: {', '.join(missing[:5])}")
    # Student cells that followed a cell the instructor does not have (anchor None) go first.
    cells: list[dict] = list(extras.get(None, []))
    items: list[Item] = []
    for cell in src_nb["cells"]:
        c = copy.deepcopy(cell)
        c.pop("outputs", None)
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
        m = nbgrader(c)
        gid = grade_id(c)
        if gid in answer_ids:
            c["source"] = answers.get(gid, source(stubs.get(gid, c)))
        if m.get("grade") and gid:
            items.append(Item(gid, float(m.get("points", 0)),
                              auto=c["cell_type"] == "code" and not m.get("solution"),
                              calls=check_calls(source(c)), hidden=HIDDEN_BEGIN in source(c)))  # fmt: skip
        cells.append(c)
        cells += extras.get(gid, []) if gid else []
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i}"
    nb = {"cells": cells, "metadata": copy.deepcopy(src_nb.get("metadata", {})),
          "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}  # fmt: skip
    return Rebuilt(nb, tuple(items), tuple(notes))


def _header_notes(student: dict) -> list[str]:
    notes = []
    meta = student.get("metadata") if isinstance(student.get("metadata"), dict) else {}
    spec = meta.get("kernelspec")
    kernel = spec.get("name") if isinstance(spec, dict) else None
    if kernel and kernel != "python3":
        notes.append(f"kernel {kernel!r} ignored (graded with python3)")
    if student.get("nbformat") not in (4, None):
        notes.append(f"nbformat {student.get('nbformat')} read as 4")
    return notes


def _given(src_nb: dict, release: dict) -> set[str]:
    """The instructor's own ungraded cells (scaffolding, demonstrations) already run in place;
    a submission's unchanged copies of them must not run a second time elsewhere."""
    return {source(c).strip() for nb in (src_nb, release) for c in nb["cells"] if not grade_id(c)}


def _read_student(student: dict, inst: dict, stubs: dict, answer_ids: set[str], given: set[str],
                  notes: list[str]) -> tuple[dict, dict, set]:  # fmt: skip
    """(answers by grade id, extra cells by the grade id they follow, grade ids seen)."""
    answers: dict[str, str] = {}
    extras: dict[str | None, list[dict]] = {}
    anchor: str | None = None
    seen: set[str] = set()
    for cell in student["cells"]:
        if not isinstance(cell, dict):
            notes.append("a cell that is not an object was dropped")
            continue
        m = nbgrader(cell)
        gid = grade_id(cell)
        sv = m.get("schema_version")
        if m and sv != 3:
            notes.append(f"schema_version {sv!r} on {gid or 'a cell'} ignored")
        if gid in inst:
            if gid in seen:
                notes.append(f"duplicate {gid} ignored")
                if gid in answer_ids and cell.get("cell_type") == "code":
                    extras.setdefault(anchor, []).append(plain_cell(cell))
                continue
            seen.add(gid)
            anchor = gid
            if gid in answer_ids:
                answers[gid] = source(cell)
                if cell.get("cell_type") != inst[gid]["cell_type"]:
                    notes.append(f"{gid}: cell type {cell.get('cell_type')!r} read as "
                                 f"{inst[gid]['cell_type']}")  # fmt: skip
            else:
                wants = {source(stubs.get(gid, inst[gid])).strip(), source(inst[gid]).strip()}
                if source(cell).strip() not in wants:
                    notes.append(f"locked cell {gid} was edited (restored)")
                if m.get("points") not in (None, nbgrader(inst[gid]).get("points")):
                    notes.append(f"{gid}: points {m.get('points')!r} ignored")
        elif gid or m.get("grade_id"):
            notes.append(f"unknown grade id {str(gid or m.get('grade_id'))[:80]!r} ignored")
            extras.setdefault(anchor, []).append(plain_cell(cell))
        elif cell.get("cell_type") in ("code", "markdown") and source(cell).strip() not in given:
            extras.setdefault(anchor, []).append(plain_cell(cell))
    return answers, extras, seen


def _cap_extras(extras: dict[str | None, list[dict]], notes: list[str]) -> None:
    count = 0
    for key in list(extras):
        keep = max(0, MAX_EXTRA_CELLS - count)
        if len(extras[key]) > keep:
            notes.append(
                f"{len(extras[key]) - keep} added cell(s) beyond {MAX_EXTRA_CELLS} dropped"
            )
            extras[key] = extras[key][:keep]
        count += len(extras[key])


def plain_cell(cell: dict) -> dict:
    """A student's cell as code or markdown with its source only: no metadata, no outputs."""
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown") else "code"
    out = {"cell_type": kind, "metadata": {}, "source": source(cell)}
    if kind == "code":
        out.update(outputs=[], execution_count=None)
    return out
