"""Reading the course notebooks: cells by nbgrader role, solution and hidden-test lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
RELEASED = sorted(REPO.glob("modules/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _between(source: str, begin: str, end: str) -> list[str]:
    blocks = re.findall(rf"{begin}\n(.*?)\n\s*{end}", source, flags=re.S)
    return [ln.strip() for block in blocks for ln in block.splitlines()]


def secret_lines(path: Path) -> list[str]:
    """Lines that must never reach learners: solution bodies and hidden tests."""
    lines = []
    for cell in load(path)["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines += _between(src, "### BEGIN SOLUTION", "### END SOLUTION")
        lines += _between(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    # Short or generic lines (`q2 = "b"`, `x = {`, an argument line) say nothing on their own.
    return [ln for ln in lines if len(ln) >= 16 and not ln.startswith("#") and ln[-1] not in "([{,"]
