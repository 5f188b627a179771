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

# The "Open in Colab" badge travels inside the notebook as a cell attachment: opening a notebook
# loads no image from the internet.
BADGE = "colab-badge.png"
BADGE_PNG = (  # 117x20, drawn locally; base64 of the PNG file
    "iVBORw0KGgoAAAANSUhEUgAAAHUAAAAUCAMAAACEcoJxAAAAkFBMVEVEREQ5OTmoqKhWVlZ5eXnm5ua3t7fGxsYq"
    "KiqXl5c5QUfzdAXZ2dk4PUhmZmb19fWHh4fxpgOMWCrVbBD/twBQSj9DQ0ONaSm4ZBtVVVVvVTSYdSXEjRNkTTl+"
    "ZS6heSHFdRXGkBPongYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACSbSljAAAAMHRSTlP+"
    "////////////////////////////gv//A////////////wAAAAAAAAAAAAAAAAD7ZbREAAAB9ElEQVR42u1W6ZLi"
    "IBDuA2gICZAYjzn2fP+H3IZoHNfR8tdYW7UUpgG/5usrrfCyg68euxf4elJ4CufTxzAM+uy6bj1BHfc0/vryAo7n"
    "03ucsH/bbweYpgmOvMiByj3WcElqaIUjrytjbtMO38d5nsf9Jsa4ee0WvA3G9R+caALPLjn+sAGRUoSwoVQXFzV0"
    "zt9yd3gd5/e3X2OMh+kQ47dGm4tHLw45GSqqD4HUbuZCR/OTzkSLxxhsZdGjikLTVzgxIJGhG+4O7/OPYeg28afm"
    "dYqHrrnaHM46nekJuSfTF085FNuuYcuQxYjUDdrQBEgFe2VNZIJlPOOvxzhu9bmJv1Vs46YZ39d4pgwmg+cMJN4n"
    "66sgt7ImDyp0LDfX0FawsqIHFPLUe1/6h1mLPbFWHcuudyJWI4Z4ZtWpogJtaaxBGlh1WMRZ8k5TnezDEeacEKqp"
    "aj6CBec0p3DFirCwOvE1seoWQrXUO4f68fXcfO7rZ9Wk9ZE4KLXJAZxgskbrql52ZuXMuPiqO2ImAhu0mtVSTYXm"
    "RiOcDfcBH31zNMYao1TrMYirwdYIBwxBHVpucQxO68fx0hZIhLiiqGL1XAIFr5UsAR/vEsdXU1l9azXHLa6dB5cF"
    "XsLxhDit7na464546i6C8H/8a7+wO3jKP5g/0F8WVrPzvisAAAAASUVORK5CYII="
)


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
        return f"[![Open In Colab](attachment:{BADGE})]({self.notebook_url(slug)})"

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
    if title is not None and f"attachment:{BADGE}" not in _text(title):
        title["source"] = _text(title).rstrip("\n") + "\n\n" + colab.badge(slug)
        title.setdefault("attachments", {})[BADGE] = {"image/png": BADGE_PNG}
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
