"""Quiz keys from the instructor's notebook, for graded quizzes (`course grade --quiz-keys source`).

The package ships only salted digests of quiz answers, and a digest of one of four letters or of
a rounded number is recovered by trying every candidate. For credit, the key is the instructor's
own: the `qK = ...` line inside `### BEGIN SOLUTION` of each `mNN_qK_*_answer` cell in solutions/,
which never leaves the instructor's machine (not in the package, not in modules/, not in the
sandbox). A literal right-hand side (a string, a number, a list) is read as it stands; an
expression (`round(gain, 3)`) is a computed key, whose value only a run of the instructor's
notebook gives.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
_ANSWER_CELL = re.compile(r"^(m\d\d)_(q\d+)_\w*_answer$")


@dataclass(frozen=True)
class Key:
    question_id: str  # "m00.q2"
    expr: str  # the right-hand side as the instructor wrote it
    value: Any = None  # the literal's value; None for a computed key
    literal: bool = True


def _cells(nb: dict) -> list[tuple[str, str]]:
    out = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        src = cell.get("source", "")
        out.append(
            (str(meta.get("grade_id") or ""), "".join(src) if isinstance(src, list) else src)
        )
    return out


def extract(source_nb: dict) -> dict[str, Key]:
    """{question id: Key} from the solution cells of the instructor's notebook.

    Raises ValueError naming the cell when an answer cell holds no `qK = ...` in its solution:
    a quiz without a key would silently score 0 for everyone."""
    keys: dict[str, Key] = {}
    for grade_id, src in _cells(source_nb):
        m = _ANSWER_CELL.match(grade_id)
        if not m:
            continue
        module, var = m.groups()
        body = (
            src.split(SOLUTION_BEGIN, 1)[1].split(SOLUTION_END, 1)[0]
            if SOLUTION_BEGIN in src
            else ""
        )
        try:
            tree = ast.parse(body)
        except SyntaxError as exc:
            raise ValueError(f"{grade_id}: the solution does not parse ({exc.msg})") from None
        assigns = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == var for t in node.targets)
        ]
        if not assigns:
            raise ValueError(f"{grade_id}: no `{var} = ...` between the solution markers")
        expr = ast.unparse(assigns[-1].value)
        qid = f"{module}.{var}"
        try:
            keys[qid] = Key(qid, expr, ast.literal_eval(assigns[-1].value))
        except ValueError:
            keys[qid] = Key(qid, expr, literal=False)
    return keys


def literal_keys(keys: dict[str, Key]) -> dict[str, Any]:
    """The keys known without running anything, as plain JSON values for the worker."""
    return {q: k.value for q, k in keys.items() if k.literal}


def computed(keys: dict[str, Key]) -> list[str]:
    """Question ids whose key only a run of the instructor's notebook gives."""
    return [q for q, k in keys.items() if not k.literal]
