"""CI runs the linters the maintainers run: ruff on code and notebooks."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

RUFF = [sys.executable, "-m", "ruff"]


def test_ruff_check_passes() -> None:
    result = subprocess.run(
        [*RUFF, "check", "course", "tests", "solutions", "autograder", "bench", "docs/diagrams"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [*RUFF, "format", "--check", "course", "tests", "bench", "docs/diagrams"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
