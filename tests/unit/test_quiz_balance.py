"""Multiple-choice keys cannot be beaten by a strategy that ignores the question.

Reads every solution notebook: the options of each "**Qk · ...**" question ("- a) ...") and its
key (the solution cell's `qK = "x"`). If always answering the same letter, or always picking the
longest option (or the second longest, or the shortest), scores more than MAX_SHARE, the keys
give the answers away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from course._catalog import MODULES
from course._errors import CheckError
from course.checks._registry import Question, items
from course.quiz import check

REPO = Path(__file__).resolve().parents[2]
MAX_SHARE = 0.40
_QUESTION = re.compile(r"\*\*Q(\d+) ·")
_OPTION = re.compile(r"^- ([a-e])\) (.+)$", re.M)
_KEY = re.compile(r"^q(\d+) = ['\"]([a-e])['\"]\s*$", re.M)


@dataclass(frozen=True)
class Choice:
    id: str  # "m02.q3"
    options: dict[str, str]  # letter -> option text
    key: str  # the right letter


def _solution(source: str) -> str:
    return source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION", 1)[0]


def choices() -> list[Choice]:
    """Every multiple-choice question of the ready modules, with its options and key."""
    found: list[Choice] = []
    for module in (m for m in MODULES if m.ready):
        cells = json.loads((REPO / "solutions" / module.slug / f"{module.slug}.ipynb").read_text())
        options: dict[str, dict[str, str]] = {}
        keys: dict[str, str] = {}
        for cell in cells["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                parts = _QUESTION.split(source)  # [before, n, text, n, text, ...]
                for number, text in zip(parts[1::2], parts[2::2], strict=True):
                    found_options = dict(_OPTION.findall(text))
                    if found_options:
                        options[number] = found_options
            elif "### BEGIN SOLUTION" in source:
                keys.update(dict(_KEY.findall(_solution(source))))
        for number, opts in options.items():
            assert number in keys, f"{module.id}.q{number} has options but no letter key"
            found.append(Choice(f"{module.id}.q{number}", opts, keys[number]))
    return found


def _share(pick: Callable[[Choice], set[str]]) -> float:
    """The score of a strategy that picks a set of letters (a tie counts as a right guess)."""
    questions = choices()
    return sum(q.key in pick(q) for q in questions) / len(questions)


def _by_length(q: Choice, rank: int) -> set[str]:
    """The options at a length rank: 0 the longest, 1 the next, -1 the shortest."""
    lengths = sorted({len(text) for text in q.options.values()}, reverse=True)
    target = lengths[max(-len(lengths), min(rank, len(lengths) - 1))]
    return {letter for letter, text in q.options.items() if len(text) == target}


def test_notebook_options_match_the_registered_questions() -> None:
    registered = {
        q.id: q
        for m in MODULES
        if m.ready
        for q in items(m.id)
        if isinstance(q, Question) and q.kind == "choice"
    }
    parsed = {q.id: q for q in choices()}
    assert sorted(parsed) == sorted(registered), "a choice question is missing its options"
    for qid, q in parsed.items():
        assert tuple(sorted(q.options)) == registered[qid].choices, f"{qid}: options differ"
        assert q.key in q.options, f"{qid}: the key is not one of the options"
    assert len(parsed) >= 30  # the parse found the questions: the shares below mean something


def test_the_notebook_keys_are_the_registered_answers(course_home: Path) -> None:
    """The solution cell's letter passes the stored digest, and every other option fails."""
    for q in choices():
        check(q.id, q.key)
        for letter in set(q.options) - {q.key}:
            with pytest.raises(CheckError, match="not quite"):
                check(q.id, letter)


@pytest.mark.parametrize("letter", ["a", "b", "c", "d"])
def test_always_the_same_letter_fails(letter: str) -> None:
    share = _share(lambda q: {letter})
    assert share <= MAX_SHARE, f"always answering {letter!r} scores {share:.0%}: move some keys"


@pytest.mark.parametrize(
    ("rank", "name"), [(0, "the longest"), (1, "the second longest"), (-1, "the shortest")]
)
def test_always_the_same_length_rank_fails(rank: int, name: str) -> None:
    share = _share(lambda q: _by_length(q, rank))
    assert share <= MAX_SHARE, f"always picking {name} option scores {share:.0%}: vary lengths"
