"""modules/ is a faithful, secret-free release of solutions/ (COURSE_DESIGN §7, §8)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _nb import RELEASED, REPO, SOLUTIONS, load, nbgrader, secret_lines

import course
from course import _catalog


def test_every_ready_module_has_a_source_and_a_release() -> None:
    ready = {m.slug for m in _catalog.MODULES if m.ready}
    assert {p.stem for p in SOLUTIONS} == ready
    assert {p.stem for p in RELEASED} == ready


@pytest.mark.parametrize(
    "path", SOLUTIONS + RELEASED, ids=lambda p: p.parent.parent.name + "/" + p.stem
)
def test_committed_without_outputs(path: Path) -> None:
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_source_follows_the_exercise_anatomy(path: Path) -> None:
    """Grade ids are unique and named mNN_..., every grade cell has points, every solution cell
    has markers, and the notebook opens with a locked course.setup call."""
    module = _catalog.get(path.stem)
    cells = load(path)["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert f'course.setup("{module.id}")' in "".join(code[0]["source"])
    assert nbgrader(code[0]).get("locked")
    ids = [nbgrader(c)["grade_id"] for c in cells if nbgrader(c)]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(f"{module.id}_") for i in ids)
    for cell in cells:
        meta = nbgrader(cell)
        src = "".join(cell["source"])
        if meta.get("grade"):
            assert meta["points"] > 0 and meta["locked"]
            assert "course.check(" in src or "course.quiz.check(" in src
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src
    first = "".join(cells[0]["source"]).splitlines()[0]
    assert first.startswith(f"# Module {int(module.id[1:])} of {_catalog.N_MODULES - 1} · ")
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for section in ("## Key concepts", "## In production", "## Check your understanding"):
        assert section in text


def test_modules_match_a_fresh_release() -> None:
    """nbdev-style: generated files are in sync with their source (and release is byte-stable)."""
    result = subprocess.run(
        [sys.executable, "-m", "course", "release", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _package_text() -> str:
    pkg = Path(course.__file__).parent
    return "\n".join(p.read_text(encoding="utf-8") for p in pkg.rglob("*.py"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_no_solution_or_hidden_test_leaks(path: Path) -> None:
    raw = (REPO / "modules" / path.parent.name / path.name).read_text(encoding="utf-8")
    # Compare with the cells' decoded text: in the raw JSON a line with a quote is escaped.
    released = raw + "\n".join("".join(c["source"]) for c in json.loads(raw)["cells"])
    package = _package_text()
    secrets = secret_lines(path)
    assert secrets, "the source should have solutions and hidden tests"
    assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
    for line in secrets:
        assert line not in released, f"released notebook contains {line!r}"
    # Hints may name an API call; statements of the answer (assignments, returns, asserts) never.
    statements = [
        ln
        for ln in secrets
        if len(ln) >= 24 and (" = " in ln or ln.startswith(("return ", "assert ")))
    ]
    assert statements
    for line in statements:
        assert line not in package, f"package contains {line!r}"


def test_quiz_answers_are_hashed_only() -> None:
    """The package holds digests, never the answers: a plain 'b' or ordered list is not there."""
    from course.checks._registry import Question, items

    for path in SOLUTIONS:
        for item in items(path.stem):
            if isinstance(item, Question):
                assert len(item.digest) == 20 and int(item.digest, 16) >= 0
    assert '"data", "train", "evaluate"' not in _package_text()


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_checks_and_registered_items_match(path: Path) -> None:
    """One name everywhere: each graded cell checks a registered item, each item is graded once,
    and the module has its checks file and its test file."""
    from course.checks._registry import items

    module = _catalog.get(path.stem)
    called = []
    for cell in load(path)["cells"]:
        if nbgrader(cell).get("grade"):
            src = "".join(cell["source"])
            called += re.findall(r'course\.(?:quiz\.)?check\("([^"]+)"', src)
    assert sorted(called) == sorted(it.id for it in items(module.id))
    assert len(called) == len(set(called))
    slug = path.stem.split("_", 1)[1]
    assert (REPO / "course" / "checks" / f"{module.id}_{slug}.py").exists()
    assert (REPO / "tests" / "checks" / f"test_{module.id}_{slug}.py").exists()
