"""No module pastes an earlier module's exercise answer: a learner who opens module 3 before
finishing module 1 must not find module 1's solution there (later modules import the course's
copy instead, e.g. course.handoff.fingerprint)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
_DEF = re.compile(r"^\s*def (\w+)\(", re.MULTILINE)


def _cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def _answers(path: Path) -> set[str]:
    """Functions a module's learners write: defined inside a solution block."""
    found = set()
    for source in _cells(path):
        for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, re.S):
            found |= set(_DEF.findall(block))
        if "### BEGIN SOLUTION" in source:  # a stub cell: `def name(...):` above the block
            found |= set(_DEF.findall(source.split("### BEGIN SOLUTION")[0]))
    return found


@pytest.mark.parametrize("later", SOLUTIONS[1:], ids=lambda p: p.name[:2])
def test_no_earlier_answer_is_defined_again(later: Path) -> None:
    earlier = [p for p in SOLUTIONS if p.name < later.name]
    answers = {name: p.name[:2] for p in earlier for name in _answers(p)}
    defined = {name for source in _cells(later) for name in _DEF.findall(source)}
    pasted = {name: answers[name] for name in defined & set(answers)}
    pasted = {n: m for n, m in pasted.items() if n not in _answers(later)}  # its own exercise
    assert not pasted, f"{later.name} defines earlier answers again: {pasted}"
