"""The "In production" notes: no vendor list repeated module after module, no defunct services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
PLATFORMS = ("Databricks", "SageMaker", "Vertex AI", "Kubeflow")
# The modules whose notes are the map: m09 per pipeline step, m10 per part of the stack.
MAPS = {"09", "10"}
# Services that were shut down; a note that names one sends learners nowhere.
DEFUNCT = ("WhyLabs", "whylogs", "Neptune.ai", "Google AI Platform", "MLflow Recipes")


def _notes(path: Path) -> str:
    """The section from its heading to the next level-2 heading."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    sections = text.split("\n## In production")
    assert len(sections) == 2, f"{path.name}: one 'In production' section expected"
    return sections[1].split("\n## ")[0]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name[:2])
def test_the_platform_list_lives_in_the_map_modules_only(path: Path) -> None:
    named = [p for p in PLATFORMS if p in _notes(path)]
    if path.name[:2] in MAPS:
        assert len(named) == len(PLATFORMS), (
            f"{path.name}'s map lacks {set(PLATFORMS) - set(named)}"
        )
    else:
        assert len(named) <= 1, f"{path.name} lists {named}: point to module 10's map instead"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name[:2])
def test_no_defunct_service_is_named(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not [d for d in DEFUNCT if d in text]
