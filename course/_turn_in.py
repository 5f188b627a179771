"""`course.turn_in`: package this notebook, and nothing else, for upload to the instructor."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from . import _catalog
from ._errors import CourseError
from ._names import STUDENT_ENV, student


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _notebook_json(module_slug: str, notebook: str | Path | None) -> dict[str, Any]:
    """The notebook as saved: Colab's live copy, an explicit path, or the Jupyter session's."""
    if notebook is None and _in_colab():
        from google.colab import _message  # type: ignore[import-not-found]

        return _message.blocking_request("get_ipynb", timeout_sec=30)["ipynb"]
    if notebook is None:
        session = os.environ.get("JPY_SESSION_NAME", "")
        candidates = [Path(session)] if session.endswith(".ipynb") else []
        candidates.append(Path.cwd() / f"{module_slug}.ipynb")
        notebook = next((c for c in candidates if c.is_file()), None)
        if notebook is None:
            raise CourseError(
                f"cannot find {module_slug}.ipynb here; save it and pass its path: "
                f"course.turn_in(..., notebook='path/to/{module_slug}.ipynb')"
            )
    path = Path(notebook)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CourseError(f"cannot read {path} as a notebook: {exc}") from None


def _strip(nb: dict[str, Any]) -> dict[str, Any]:
    """Outputs can be megabytes and hold nothing the grader uses: leave them out."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def turn_in(
    module_id: str,
    student_id: str | None = None,
    notebook: str | Path | None = None,
    folder: str | Path = "turn-in",
) -> Path:
    """Write ``<folder>/<student>_<NN_slug>.ipynb`` for upload; on Colab, also download it.

    Save the notebook first (Ctrl-S): Jupyter turns in what is on disk.
    """
    module = _catalog.get(module_id)
    if student_id is None:
        student_id = student()
    if not student_id:
        raise CourseError(
            f"who is turning in? pass student_id='your id' or set {STUDENT_ENV} before starting"
        )
    if student_id != (safe := "".join(ch for ch in student_id if ch.isalnum() or ch in "._@-")):
        raise CourseError(f"student_id {student_id!r}: use letters, digits, '.', '_', '-' or '@'")
    nb = _strip(_notebook_json(module.slug, notebook))
    out = Path(folder) / f"{safe}_{module.slug}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"✓ {out} is ready to upload ({out.stat().st_size // 1024} KB, outputs removed)")
    if _in_colab():
        from google.colab import files  # type: ignore[import-not-found]

        files.download(str(out))
    return out
