"""Colab: the release stamps the badge and the pinned install; notebooks run from a built wheel
in an empty folder, as on Colab; the lock resolves for Colab's Python 3.12; work can be turned in.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import course
from course import _catalog
from course.grading import colab

REPO = Path(__file__).resolve().parents[2]
READY = [m for m in _catalog.MODULES if m.ready]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("module", READY, ids=lambda m: m.id)
def test_release_stamps_badge_and_pinned_install(module) -> None:
    settings = colab.settings(REPO)
    released = _cells(REPO / "modules" / module.slug / f"{module.slug}.ipynb")
    assert settings.notebook_url(module.slug) in _text(released[0])
    setup = next(
        c
        for c in released
        if c["metadata"].get("nbgrader", {}).get("grade_id", "").endswith("_setup")
    )
    assert f'%pip install -q "{settings.package}"' in _text(setup)
    assert settings.ref in settings.package and settings.repository in settings.package
    source = _cells(REPO / "solutions" / module.slug / f"{module.slug}.ipynb")
    assert "google.colab" not in "".join(_text(c) for c in source), "solutions stay Colab-free"


@pytest.mark.parametrize("module", READY, ids=lambda m: m.id)
def test_released_notebooks_load_no_image_from_outside(module) -> None:
    """The badge is a PNG inside the notebook; no markdown image points at the internet."""
    import base64
    import re

    released = _cells(REPO / "modules" / module.slug / f"{module.slug}.ipynb")
    markdown = "\n".join(_text(c) for c in released if c["cell_type"] == "markdown")
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", markdown)
    images += re.findall(r"<img[^>]*\ssrc=[\"']?([^\"'\s>]+)", markdown)
    assert images and all(src.startswith("attachment:") for src in images), images
    png = base64.b64decode(released[0]["attachments"][colab.BADGE]["image/png"])
    assert png.startswith(b"\x89PNG\r\n") and len(png) < 4096


def test_colab_settings_live_in_one_place() -> None:
    text = (REPO / "pyproject.toml").read_text()
    settings = colab.settings(REPO)
    assert f'repository = "{settings.repository}"' in text and f'ref = "{settings.ref}"' in text
    code = "\n".join(p.read_text() for p in (REPO / "course").rglob("*.py"))
    assert settings.repository not in code and settings.ref not in code


# --- notebooks from a wheel, in an empty folder ----------------------------------------------


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory) -> Path:
    """The package as Colab gets it: a built wheel installed into a plain folder, not editable."""
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    cmd = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(REPO)]
    subprocess.run(cmd, check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("mlops_course-*.whl"))
    site = tmp / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


_RUN = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.insert(0, nbformat.v4.new_code_cell("import course; print('COURSE_FROM', course.__file__)"))
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
print(json.dumps([o.get("text", "") for o in outs if o.get("output_type") == "stream"]))
"""


def _filled(module, dest: Path) -> Path:
    """The released notebook with every solution cell taken from solutions/."""
    released = json.loads((REPO / "modules" / module.slug / f"{module.slug}.ipynb").read_text())
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: c["source"]
        for c in _cells(REPO / "solutions" / module.slug / f"{module.slug}.ipynb")
        if c["metadata"].get("nbgrader", {}).get("solution")
    }
    for cell in released["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    path = dest / f"{module.slug}.ipynb"
    path.write_text(json.dumps(released), encoding="utf-8")
    return path


@pytest.mark.notebook
def test_every_module_runs_from_the_wheel_in_an_empty_folder(wheel_site, tmp_path) -> None:
    def run(module) -> tuple[str, subprocess.CompletedProcess]:
        folder = tmp_path / module.id
        folder.mkdir()
        nb = _filled(module, folder)
        env = {
            "PYTHONPATH": str(wheel_site),
            "COURSE_HOME": str(folder / "home"),
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        }
        env.update(
            {
                k: v
                for k, v in __import__("os").environ.items()
                if k in ("HOME", "LANG", "NETGUARD_LOG")
            }
        )
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, str(nb)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return module.id, proc

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, READY))
    for module_id, proc in results:
        assert proc.returncode == 0, f"{module_id}: {proc.stderr[-2000:]}"
        streams = json.loads(proc.stdout.strip().splitlines()[-1])
        where = next(s for s in streams if s.startswith("COURSE_FROM"))
        assert str(wheel_site) in where, f"{module_id} imported course from {where}"
        joined = "".join(streams)
        assert "✓" in joined and "not attempted" not in joined.lower(), module_id


# --- Python 3.12 -----------------------------------------------------------------------------


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


SOURCE_ONLY = "antlr4-python3-runtime"


@pytest.mark.skipif(not _pypi_reachable(), reason="PyPI is not reachable from this machine")
def test_lock_resolves_for_colab_python_312(tmp_path) -> None:
    """Colab runs Python 3.12 on manylinux: every pin must have a wheel for it, but one pure-Python
    source package (DVC's antlr4-python3-runtime, via hydra-core), which pip builds anywhere."""
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--dry-run"]
    cmd += ["--ignore-installed", "--no-deps", "--python-version", "3.12", "--only-binary=:all:"]
    cmd += [f"--no-binary={SOURCE_ONLY}"]
    for tag in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"):
        cmd += ["--platform", tag]
    cmd += ["--target", str(tmp_path / "t"), "-r", str(REPO / "requirements.lock")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Would install" in proc.stdout


# --- turning work in ---------------------------------------------------------------------------


def test_turn_in_packages_the_notebook_without_outputs(
    course_home, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    nb = json.loads((REPO / "modules/00_welcome/00_welcome.ipynb").read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 10_000}]
    src = tmp_path / "00_welcome.ipynb"
    src.write_text(json.dumps(nb))
    out = course.turn_in("m00", student_id="ada", notebook=src)
    assert out.name == "ada_00_welcome.ipynb" and out.parent.name == "turn-in"
    saved = json.loads(out.read_text())
    assert all(c.get("outputs", []) == [] for c in saved["cells"])
    assert [c["source"] for c in saved["cells"]] == [c["source"] for c in nb["cells"]]
    assert capsys.readouterr().out.startswith("✓ ")
    from course.grading.submissions import discover

    found, skipped = discover(out.parent, "00_welcome")  # what the instructor's grader reads
    assert [sub.student_id for sub in found] == ["ada"] and not skipped


def test_turn_in_errors_are_one_line(course_home, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(course.CourseError, match="who is turning in"):
        course.turn_in("m00")
    with pytest.raises(course.CourseError, match="cannot find 00_welcome.ipynb here"):
        course.turn_in("m00", student_id="ada")
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(course.CourseError, match="cannot read"):
        course.turn_in("m00", student_id="ada", notebook=tmp_path / "bad.ipynb")
    with pytest.raises(course.CourseError, match="student_id"):
        course.turn_in("m00", student_id="a b", notebook=tmp_path / "bad.ipynb")


def test_runs_table_shows_the_module_runs(embedded) -> None:
    import mlflow

    embedded("m02")
    with mlflow.start_run(run_name="baseline"):
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("val_roc_auc", 0.74)
    table = course.runs("m02")
    assert list(table["run"]) == ["baseline"]
    assert table["val_roc_auc"].iloc[0] == pytest.approx(0.74)
    assert course.runs("m09").empty
