"""Every module shows at least one picture, and the pictures are the drawing script's output.

The diagrams live in the notebooks as markdown cell attachments (they render offline, in
JupyterLab, Colab and on GitHub); docs/diagrams/draw.py draws them and embeds them. A picture
edited by hand, or a script changed without `--embed`, fails here.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from course import _catalog

REPO = Path(__file__).resolve().parents[2]
READY = [m for m in _catalog.MODULES if m.ready]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 60 * 1024  # a notebook stays quick to open and to diff
LINK = re.compile(r"!\[([^\]]*)\]\(attachment:([^)\s]+)\)")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _pictures(path: Path) -> dict[str, bytes]:
    """The PNG attachments of a notebook's markdown cells, by name."""
    return {
        name: base64.b64decode(data["image/png"])
        for cell in _cells(path)
        if cell["cell_type"] == "markdown"
        for name, data in cell.get("attachments", {}).items()
        if "image/png" in data
    }


@pytest.fixture(scope="module")
def draw() -> ModuleType:
    name = "course_diagrams_draw"  # a script, not a package: load it from its path
    spec = importlib.util.spec_from_file_location(name, REPO / "docs" / "diagrams" / "draw.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def drawn(draw: ModuleType) -> dict[str, bytes]:
    """Every diagram, drawn once for the module (a few seconds)."""
    return {d.name: draw.render(d) for d in draw.DIAGRAMS}


@pytest.mark.parametrize("module", READY, ids=lambda m: m.id)
def test_every_module_shows_a_picture_that_renders(module: _catalog.Module) -> None:
    from PIL import Image

    path = REPO / "solutions" / module.slug / f"{module.slug}.ipynb"
    shown = 0
    for cell in _cells(path):
        attachments = cell.get("attachments", {})
        links = LINK.findall(_text(cell))
        for alt, name in links:
            assert name in attachments, f"attachment:{name} has no attachment in its cell"
            assert len(alt.split()) >= 5, f"{name}: the alt text should say what it shows"
        for name, data in attachments.items():
            assert name in {n for _, n in links}, f"{name} is attached but never shown"
            png = base64.b64decode(data["image/png"])
            assert png.startswith(PNG_SIGNATURE), f"{name} is not a PNG"
            assert len(png) < MAX_BYTES, f"{name}: {len(png) // 1024} KB"
            with Image.open(io.BytesIO(png)) as image:
                image.load()  # decodes every pixel: a truncated file fails here
                assert image.width >= 400 and image.height >= 150
            shown += 1
    assert shown >= 1, f"{module.slug} has no picture"


def test_every_module_has_a_diagram(draw: ModuleType) -> None:
    assert {d.slug for d in draw.DIAGRAMS} == {m.slug for m in READY}
    names = [d.name for d in draw.DIAGRAMS]
    assert len(names) == len(set(names))


def test_the_notebooks_hold_what_the_script_draws(draw: ModuleType, drawn: dict) -> None:
    """Byte for byte: the drawing is deterministic, and nobody edited a picture by hand."""
    for diagram in draw.DIAGRAMS:
        path = REPO / "solutions" / diagram.slug / f"{diagram.slug}.ipynb"
        embedded = _pictures(path).get(diagram.name)
        assert embedded is not None, f"{diagram.slug}: run `python docs/diagrams/draw.py --embed`"
        assert embedded == drawn[diagram.name], (
            f"{diagram.name} differs from what docs/diagrams/draw.py draws: run it with --embed"
        )
    assert draw.embed(REPO, drawn, write=False) == [], "embedding again would change a notebook"


def test_drawing_twice_gives_the_same_bytes(draw: ModuleType, drawn: dict) -> None:
    first = draw.DIAGRAMS[1]
    assert draw.render(first) == drawn[first.name]


def test_embedding_is_idempotent(draw: ModuleType, drawn: dict, tmp_path: Path) -> None:
    """A fresh notebook gets the picture once, in its anchor cell, and a second pass changes
    nothing; an updated picture replaces the old one where it is."""
    diagram = draw.DIAGRAMS[1]
    source = REPO / "solutions" / diagram.slug / f"{diagram.slug}.ipynb"
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:  # strip the picture, as before the first --embed
        if cell.get("attachments", {}).pop(diagram.name, None) is not None:
            cell["source"] = LINK.sub("", _text(cell)).replace("\n\n\n\n", "\n\n")
            if not cell["attachments"]:
                del cell["attachments"]
    draw.place(nb, diagram, drawn[diagram.name])
    once = json.dumps(nb, sort_keys=True)
    draw.place(nb, diagram, drawn[diagram.name])
    assert json.dumps(nb, sort_keys=True) == once
    (cell,) = [c for c in nb["cells"] if diagram.name in c.get("attachments", {})]
    assert _text(cell).startswith(diagram.anchor)
    assert _text(cell).count(f"attachment:{diagram.name}") == 1
    draw.place(nb, diagram, b"\x89PNG\r\n\x1a\nnew")
    assert base64.b64decode(cell["attachments"][diagram.name]["image/png"]).endswith(b"new")
    assert _text(cell).count(f"attachment:{diagram.name}") == 1


@pytest.mark.parametrize("module", READY, ids=lambda m: m.id)
def test_the_release_keeps_the_pictures(module: _catalog.Module) -> None:
    """`course release` carries the attachments into modules/ unchanged."""
    source = _pictures(REPO / "solutions" / module.slug / f"{module.slug}.ipynb")
    released = _pictures(REPO / "modules" / module.slug / f"{module.slug}.ipynb")
    for name, png in source.items():
        assert released.get(name) == png, f"{name}: run `course release`"
