"""`course release`: modules/ regenerated from solutions/ by nbgrader, byte-stable."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .. import _catalog
from .._errors import CourseError
from . import _nbgrader, colab


def source_notebooks(root: Path) -> list[Path]:
    found = sorted(root.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
    for nb in found:
        if nb.stem != nb.parent.name:
            raise CourseError(f"{nb}: a module folder holds one notebook named like the folder")
        _catalog.get(nb.stem)
    return found


def _clean(nb: dict) -> dict:
    """Release form: no outputs, no execution counts, no per-machine metadata."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell.get("metadata", {}).pop("execution", None)
    return nb


def release(modules: list[str] | None = None, check: bool = False) -> list[str]:
    """Write modules/NN_slug/NN_slug.ipynb for each source; with check=True only compare.

    Returns the notebooks that changed (or, with check, that are out of date).
    """
    root = _nbgrader.repo()
    sources = source_notebooks(root)
    if modules:
        wanted = {_catalog.get(m).slug for m in modules}
        sources = [s for s in sources if s.stem in wanted]
    changed = []
    stamp = colab.settings(root)
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        course_dir = Path(tmp)
        for src in sources:
            dest = course_dir / "source" / src.stem / src.name
            dest.parent.mkdir(parents=True)
            shutil.copyfile(src, dest)
        api = _nbgrader.api(course_dir)
        for src in sources:
            _nbgrader.generate(api, src.stem)
            built = json.loads((course_dir / "release" / src.stem / src.name).read_text())
            built = colab.stamp(built, src.stem, _catalog.get(src.stem).id, stamp)
            target = root / "modules" / src.stem / src.name
            text = json.dumps(_clean(built), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            current = target.read_text(encoding="utf-8") if target.exists() else None
            if current != text:
                changed.append(str(target.relative_to(root)))
                if not check:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
    return changed
