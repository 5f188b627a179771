"""nbconvert preprocessors used in feedback."""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

# As a learner sees them in the notebook (course._display).
_LABELS = {"NotAttempted": "Not attempted", "CheckError": "Incorrect"}


class TrimTracebacks(Preprocessor):
    """Reduce every error in a grade cell to `ename: evalue`.

    A traceback from a hidden test shows the failing line, and so the hidden test itself.
    """

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    ename = out.get("ename", "Error")
                    label = _LABELS.get(ename, ename)
                    out["traceback"] = [f"{label}: {out.get('evalue', '')}"]
        return cell, resources
