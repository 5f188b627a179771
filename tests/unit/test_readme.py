"""The README's module map and commands say what the project really has."""

from __future__ import annotations

import re

from conftest import REPO

from course import _catalog

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_module_map_matches_the_catalog() -> None:
    rows = re.findall(
        r"^\| (m\d\d) \| (.+?) \| .+? \| ~(\d+) min \| .+? \| (\w+) \|$", README, re.M
    )
    assert [(r[0], r[1], int(r[2]), r[3]) for r in rows] == [
        (m.id, m.title, m.minutes, "ready" if m.ready else "planned") for m in _catalog.MODULES
    ]


def test_start_section_has_exactly_the_two_commands() -> None:
    start = README.split("## Start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)", start, re.M)
    assert commands == ["make lab", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
