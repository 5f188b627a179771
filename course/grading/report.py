"""The summary of a grading run: per-item pass rates, a score histogram (markdown and PNG), and
nbgrader's own CSV export of the gradebook."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any


def summarize(out: Path, module: str, rows: list[Any], grade_ids: list[str], points: dict) -> Path:
    graded = [r for r in rows if r.status == "graded"]
    top = sum(points.values())
    lines = [f"# {module}: grading summary", "",
             f"{len(rows)} input file(s): {len(graded)} graded, "
             f"{sum(r.status == 'error' for r in rows)} error, "
             f"{sum(r.status == 'skipped' for r in rows)} not attributed; "
             f"{sum(bool(r.review) for r in rows)} flagged for review.", ""]  # fmt: skip
    if graded:
        scores = sorted(r.score or 0 for r in graded)
        mean = sum(scores) / len(scores)
        lines += [f"Mean {mean:.2f} / {top:g}, median {scores[len(scores) // 2]:g}.", ""]
    lines += ["## Per exercise", "", "| item | points | pass rate | passed |", "|---|---|---|---|"]
    for g in grade_ids:
        ok = sum(1 for r in graded if r.items.get(g, 0) > 0)
        rate = f"{ok / len(graded):.0%}" if graded else "-"
        lines.append(f"| {g} | {points[g]:g} | {rate} | {ok}/{len(graded)} |")
    bins = _bins(top)
    counts = [0] * len(bins)
    for r in graded:
        for i, (lo, hi) in enumerate(bins):
            if lo <= (r.score or 0) < hi or (i == len(bins) - 1 and (r.score or 0) == hi):
                counts[i] += 1
                break
    lines += ["", "## Score histogram", "", "| score | students | |", "|---|---|---|"]
    for (lo, hi), n in zip(bins, counts, strict=True):
        lines.append(f"| {lo:g}-{hi:g} | {n} | {'#' * n} |")
    lines += ["", "![score histogram](scores.png)", ""]
    path = out / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8", errors="replace")
    _plot(out / "scores.png", [r.score or 0 for r in graded], top, module)
    return path


def _bins(top: float) -> list[tuple[float, float]]:
    n = max(1, min(10, int(top)))
    step = top / n if top else 1
    return [(round(i * step, 2), round((i + 1) * step, 2)) for i in range(n)]


def _plot(path: Path, scores: list[float], top: float, module: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(scores, bins=[lo for lo, _ in _bins(top)] + [top or 1], edgecolor="black")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.set_title(f"{module}: scores of {len(scores)} graded submission(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def export_gradebook(course_dir: Path, dest: Path) -> None:
    """nbgrader's CSV export (what `nbgrader export` writes) of the gradebook."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    plugin = CsvExportPlugin(to=str(dest))
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        with contextlib.redirect_stdout(io.StringIO()):
            plugin.export(gb)
