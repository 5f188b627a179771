"""Each module's listed time follows one stated rule (docs/authoring.md), computed from its notebook.

The rule: minutes = markdown words / 120 (reading) + 0.25 per line of code the learner runs but
does not write (demonstrations) + 8 per exercise, weighted by its points / 2 + 1.5 per quiz
question; rounded to 5. The catalog, the README's module map and each notebook's title line must
agree with it within TOLERANCE. Run this file to print the table:
`.venv/bin/python tests/unit/test_time_estimates.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from course import _catalog

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 5  # minutes: small prose edits need not touch four files

WORDS_PER_MINUTE = 120  # technical prose, read to act on it
MINUTES_PER_DEMO_LINE = 0.25  # read it, run it, look at the output
MINUTES_PER_EXERCISE = 8  # for a 2-point exercise; scaled by points / 2
MINUTES_PER_QUESTION = 1.5


@dataclass(frozen=True)
class Effort:
    words: int  # in markdown cells
    demo_lines: int  # non-empty lines of code cells that are neither solutions nor graded
    points: float  # exercise points (quiz points not included)
    questions: int

    @property
    def minutes(self) -> int:
        raw = (
            self.words / WORDS_PER_MINUTE
            + self.demo_lines * MINUTES_PER_DEMO_LINE
            + MINUTES_PER_EXERCISE * self.points / 2
            + MINUTES_PER_QUESTION * self.questions
        )
        return int(5 * round(raw / 5))


def _notebook(module: _catalog.Module) -> dict:
    return json.loads((REPO / "solutions" / module.slug / f"{module.slug}.ipynb").read_text())


def effort(module: _catalog.Module) -> Effort:
    """Count what a learner reads, runs, writes and answers in the module's source notebook."""
    words = demo = questions = 0
    points = 0.0
    for cell in _notebook(module)["cells"]:
        source = "".join(cell["source"])
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if cell["cell_type"] == "markdown":
            words += len(source.split())
        elif meta.get("grade") and re.match(rf"{module.id}_q\d", grade_id):
            questions += 1
        elif meta.get("grade") and re.match(rf"{module.id}_ex\d", grade_id):
            points += float(meta.get("points", 0))
        elif not meta.get("solution") and not meta.get("grade"):
            demo += sum(1 for line in source.splitlines() if line.strip())
    return Effort(words, demo, points, questions)


READY = [m for m in _catalog.MODULES if m.ready]


def _table() -> str:
    rows = [f"{m.id}: listed {m.minutes}, rule {effort(m).minutes} ({effort(m)})" for m in READY]
    return "\n".join(rows)


@pytest.mark.parametrize("module", READY, ids=[m.id for m in READY])
def test_catalog_follows_the_rule(module: _catalog.Module) -> None:
    expected = effort(module).minutes
    assert abs(module.minutes - expected) <= TOLERANCE, (
        f"{module.id} lists ~{module.minutes} min, the rule gives {expected}: update "
        "course/_catalog.py, the README's module map and the notebook's title line"
    )


@pytest.mark.parametrize("module", READY, ids=[m.id for m in READY])
def test_title_line_says_the_catalog_time(module: _catalog.Module) -> None:
    first = "".join(_notebook(module)["cells"][0]["source"]).splitlines()[0]
    found = re.search(r"· ~(\d+) min$", first)
    assert found, f"{module.id}'s title line should end with '· ~NN min': {first!r}"
    assert int(found.group(1)) == module.minutes, f"{module.id}: title says {found.group(1)}"


def test_readme_says_the_catalog_times() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| (m\d\d) \| .+? \| .+? \| ~(\d+) min \|", readme, re.M))
    assert {k: int(v) for k, v in listed.items()} == {m.id: m.minutes for m in READY}


if __name__ == "__main__":
    print(_table())
    print(f"total: {sum(effort(m).minutes for m in READY) / 60:.1f} h")
