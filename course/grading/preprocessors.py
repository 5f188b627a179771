"""nbconvert preprocessors used in feedback."""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor


class TrimTracebacks(Preprocessor):
    """Reduce every error in a grade cell to `ename: evalue`.

    A traceback from a hidden test shows the failing line, and so the hidden test itself.
    """

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
