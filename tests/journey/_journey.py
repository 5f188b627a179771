"""Run solution notebooks the way a learner does: one after another in one state dir.

Shared by the journey tests and `make bench`. A notebook passes when every cell runs and every
exercise and quiz question it checks is recorded as correct in the state dir's progress.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))


def module_id(path: Path) -> str:
    return f"m{path.name[:2]}"


@dataclass
class Run:
    """One notebook run: how long it took, and what went wrong (nothing, when it passed)."""

    module: str
    seconds: float
    errors: list[str] = field(default_factory=list)
    slowest: list[tuple[float, int]] = field(default_factory=list)
    outputs: str = ""  # every stream output of the run, to find what a module printed

    @property
    def ok(self) -> bool:
        return not self.errors


def _failed_items(home: Path, module: str) -> list[str]:
    from course.checks._registry import items

    try:
        state = json.loads((home / "progress.json").read_text())
    except (OSError, ValueError):
        state = {}
    return [
        f"{it.id}: {state.get(it.id, {}).get('status', 'not run')}"
        for it in items(module)
        if state.get(it.id, {}).get("status") != "correct"
    ]


def run(path: Path, home: Path, workdir: Path | None = None, timeout: int = 300) -> Run:
    """Execute one solution notebook with COURSE_HOME=home; never raises for a failing cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    module = module_id(path)
    workdir = workdir or home
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["COURSE_HOME"] = str(home)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    errors: list[str] = []
    cells: list[tuple[float, int]] = []
    start = time.perf_counter()
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            t = time.perf_counter()
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as exc:
                errors.append(f"cell {i}: {str(exc).strip().splitlines()[-1][:300]}")
            cells.append((time.perf_counter() - t, i))
            graded = cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)
            for out in cell.get("outputs", []) if graded else []:
                # nbgrader scores a grade cell that writes to stderr as failed
                if out.get("name") == "stderr" and out.get("text", "").strip():
                    errors.append(f"cell {i} wrote to stderr: {out['text'].strip()[:300]}")
    seconds = time.perf_counter() - start
    errors += _failed_items(home, module)
    printed = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    return Run(module, seconds, errors, sorted(cells, reverse=True)[:3], printed)
