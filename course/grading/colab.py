"""What `course release` adds to a student notebook so that it also runs on Google Colab.

The repository and the release tag live in one place, ``[tool.course.colab]`` in pyproject.toml.
Each released notebook gets an "Open in Colab" badge under its title and, in its setup cell, an
install of the course package pinned to that tag which runs only on Colab.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .._errors import CourseError

BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


@dataclass(frozen=True)
class Colab:
    repository: str  # "github.com/org/repo"
    ref: str  # a tag learners install from

    @property
    def package(self) -> str:
        return f"mlops-course @ git+https://{self.repository}@{self.ref}"

    def notebook_url(self, slug: str) -> str:
        path = self.repository.removeprefix("github.com/")
        return f"https://colab.research.google.com/github/{path}/blob/{self.ref}/modules/{slug}/{slug}.ipynb"

    def badge(self, slug: str) -> str:
        return f"[![Open In Colab]({BADGE})]({self.notebook_url(slug)})"

    def install_lines(self) -> str:
        return (
            "import sys\n\n"
            'if "google.colab" in sys.modules:  # on Colab: install the course, pinned to a release\n'
            f'    %pip install -q "{self.package}"\n'
        )


def settings(root: Path) -> Colab:
    try:
        table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["course"]["colab"]
        return Colab(str(table["repository"]).strip("/"), str(table["ref"]))
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(
            f"pyproject.toml needs [tool.course.colab] repository = ... and ref = ... ({exc})"
        ) from None


def stamp(nb: dict, slug: str, module_id: str, colab: Colab) -> dict:
    """Add the badge and the Colab install to a released notebook (idempotent)."""
    from nbformat import from_dict
    from nbgrader.utils import compute_checksum

    cells = nb["cells"]
    title = next((c for c in cells if c["cell_type"] == "markdown"), None)
    if title is not None and BADGE not in _text(title):
        title["source"] = _text(title).rstrip("\n") + "\n\n" + colab.badge(slug)
    setup = next(
        (
            c
            for c in cells
            if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{module_id}_setup"
        ),
        None,
    )
    if setup is not None and "google.colab" not in _text(setup):
        setup["source"] = colab.install_lines() + _text(setup)
        meta = setup["metadata"]["nbgrader"]
        if "checksum" in meta:  # keep nbgrader's "locked cell unchanged" check valid
            meta["checksum"] = compute_checksum(from_dict(setup))
    return nb


def _text(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src
