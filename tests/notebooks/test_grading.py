"""`course grade` end to end with real nbgrader: solutions earn full marks, releases zero,
partial work partial marks, a bad file an error row; feedback hides hidden tests; and no
outside network attempt is made while grading (netguard watches every kernel)."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _nb import REPO, load

from course import _catalog

pytestmark = pytest.mark.notebook

NETGUARD = REPO / "tests" / "netguard"
# Per module: a one-line change to the solution that breaks exactly one graded item.
PARTIAL = {
    "m00": ('SOLUTION\nq2 = "a"', 'SOLUTION\nq2 = "d"', "m00_q2_embedded"),  # key -> wrong
    "m01": ("index=False", "index=True", "m01_ex5_fingerprint"),
    "m02": (
        'order_by=[f"metrics.{metric} DESC"]',
        'order_by=[f"metrics.{metric} ASC"]',
        "m02_ex4_best_run",
    ),
    "m03": ("## Limitations\nNot trained", "## Caveats\nNot trained", "m03_ex6_model_card"),
    "m04": ("abs().max() for n in names", "abs().mean() for n in names", "m04_ex6_skew"),
    "m05": ("  promote:\n    needs: gate\n", "  promote:\n    needs: train\n", "m05_ex4_workflow"),
    # milliseconds read as seconds; not ex1, which every later item of m06 builds on
    "m06": (
        "times.append((time.perf_counter() - start) * 1000)",
        "times.append(time.perf_counter() - start)",
        "m06_ex3_latency",
    ),
    "m07": (
        '"predicted_rate": float(scores.mean()),',
        '"predicted_rate": float(scores.max()),',
        "m07_ex4_performance",
    ),
    "m08": (
        "expected = [len(frame) * (1 - share), len(frame) * share]",
        "expected = [len(frame) / 2, len(frame) / 2]",
        "m08_ex2_srm",
    ),
    "m09": ('"challenger_log_loss": ours,', '"challenger_log_loss": theirs,', "m09_ex3_gate"),
    "m10": (
        'return list(behind.sort_values("roc_auc").index)',
        "return list(behind.index)",
        "m10_ex3_flags",
    ),
}
# A correct answer whose code warns: the warning must not cost points.
NOISY = {
    "m01": (
        "    ### BEGIN SOLUTION\n    rows",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', DeprecationWarning)\n    rows",
    ),
    "m00": (
        "### BEGIN SOLUTION\nholiday",
        "### BEGIN SOLUTION\nimport warnings\nwarnings.warn('x', UserWarning)\nholiday",
    ),
    "m02": (
        '    """The id of',
        '    import warnings\n\n    warnings.warn("old API", FutureWarning)\n    """The id of',
    ),
    "m03": (
        "    ### BEGIN SOLUTION\n    current =",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', DeprecationWarning)\n    current =",
    ),
    "m04": (
        '    """Max abs difference',
        '    import warnings\n\n    warnings.warn("old API", UserWarning)\n    """Max abs difference',
    ),
    "m05": (
        "    ### BEGIN SOLUTION\n    aucs = {}",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', FutureWarning)\n    aucs = {}",
    ),
    "m06": (
        "    ### BEGIN SOLUTION\n    rows = pd.read_parquet",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', UserWarning)\n    rows = pd.read_parquet",
    ),
    "m07": (
        "    ### BEGIN SOLUTION\n    scores = model",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', DeprecationWarning)\n    scores = model",
    ),
    "m08": (
        "    ### BEGIN SOLUTION\n    effect =",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', UserWarning)\n    effect =",
    ),
    "m09": (
        '    ### BEGIN SOLUTION\n    if not drift["drifted"]:',
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', UserWarning)\n"
        '    if not drift["drifted"]:',
    ),
    "m10": (
        "    ### BEGIN SOLUTION\n    behind =",
        "    ### BEGIN SOLUTION\n    import warnings\n\n    warnings.warn('x', UserWarning)\n    behind =",
    ),
}


def _servers_left(netlog: Path) -> list[str]:
    """Model servers (course.serve) this grading started that still run.

    Only servers whose environment carries this test's NETGUARD_LOG count: other suites run
    beside this one (make test's side lane) and start servers of their own.
    """
    mark = f"NETGUARD_LOG={netlog}\0".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (
                b"course._serving_app" in (proc / "cmdline").read_bytes()
                and mark in (proc / "environ").read_bytes()
            ):
                found.append(proc.name)
        except OSError:
            continue
    return found


def _variant(source: Path, old: str, new: str, dest: Path) -> None:
    text = source.read_text(encoding="utf-8")
    needle = json.dumps(old)[1:-1]
    assert needle in text, f"{old!r} not in {source.name}"
    dest.write_text(text.replace(needle, json.dumps(new)[1:-1], 1), encoding="utf-8")


def _cheat(release: Path, dest: Path) -> None:
    """A blank notebook whose first answer cell replaces course.check with a no-op."""
    nb = json.loads(release.read_text(encoding="utf-8"))
    first = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution"))
    first["source"] = "import course\ncourse.check = lambda *args, **kwargs: None\n" + "".join(
        first["source"]
    )
    dest.write_text(json.dumps(nb), encoding="utf-8")


def _grade(module: str, slug: str, tmp: Path) -> dict:
    subs = tmp / "submissions"
    subs.mkdir(parents=True)
    solution = REPO / "solutions" / slug / f"{slug}.ipynb"
    shutil.copyfile(solution, subs / "sol.ipynb")
    (subs / "blank").mkdir()
    shutil.copyfile(REPO / "modules" / slug / f"{slug}.ipynb", subs / "blank" / f"{slug}.ipynb")
    _variant(solution, *PARTIAL[module][:2], subs / "partial.ipynb")
    _variant(solution, *NOISY[module], subs / "noisy.ipynb")
    (subs / "broken.ipynb").write_text("{not json")
    _cheat(REPO / "modules" / slug / f"{slug}.ipynb", subs / "cheat.ipynb")
    netlog = tmp / "netguard.log"
    env = dict(os.environ, PYTHONPATH=str(NETGUARD), NETGUARD_LOG=str(netlog))
    env.pop("MLFLOW_TRACKING_URI", None)
    out = tmp / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "course", "grade", module, str(subs), "--out", str(out), "--no-progress"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not _servers_left(netlog), "a model server outlived its submission's grading"
    with (out / "grades.csv").open() as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return {"out": out, "subs": subs, "rows": rows, "netlog": netlog, "stdout": proc.stdout,
            "solution": solution}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(PARTIAL))
def graded(request, tmp_path_factory) -> dict:
    module, slug = request.param, _catalog.get(request.param).slug
    result = _grade(module, slug, tmp_path_factory.mktemp(module))
    result["module"] = module
    return result


def test_every_ready_module_is_graded_here() -> None:
    assert sorted(PARTIAL) == sorted(NOISY) == [m.id for m in _catalog.MODULES if m.ready]


def _grade_ids(solution: Path) -> list[str]:
    cells = load(solution)["cells"]
    return [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in cells
        if c["metadata"].get("nbgrader", {}).get("grade")
    ]


def test_solution_earns_full_marks(graded: dict) -> None:
    row = graded["rows"]["sol"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) > 0
    assert all(float(row[g]) > 0 for g in _grade_ids(graded["solution"]))


def test_release_earns_zero(graded: dict) -> None:
    row = graded["rows"]["blank"]
    assert row["status"] == "graded" and float(row["score"]) == 0


def test_partial_work_loses_exactly_the_broken_item(graded: dict) -> None:
    row = graded["rows"]["partial"]
    broken = PARTIAL[graded["module"]][2]
    assert float(row[broken]) == 0
    others = [g for g in _grade_ids(graded["solution"]) if g != broken]
    assert all(float(row[g]) > 0 for g in others)


def test_warnings_in_a_correct_answer_cost_nothing(graded: dict) -> None:
    row = graded["rows"]["noisy"]
    assert float(row["score"]) == float(row["max_score"])


def test_a_malformed_notebook_gets_an_error_row_and_the_batch_goes_on(graded: dict) -> None:
    row = graded["rows"]["broken"]
    assert row["status"] == "error" and "not a valid notebook" in row["error"]
    assert row["score"] == ""
    assert "broken" in graded["stdout"]


def test_csv_has_the_documented_columns(graded: dict) -> None:
    with (graded["out"] / "grades.csv").open() as f:
        header = next(csv.reader(f))
    assert header[:5] == ["student_id", "module", "score", "max_score", "status"]
    assert header[12:] == _grade_ids(graded["solution"])


def _visible_text(page: str) -> str:
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_a_patched_check_earns_nothing_where_hidden_tests_look(graded: dict) -> None:
    row = graded["rows"]["cheat"]
    hidden = [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in load(graded["solution"])["cells"]
        if "### BEGIN HIDDEN TESTS" in "".join(c["source"])
    ]
    assert hidden and all(float(row[g]) == 0 for g in hidden)


def test_feedback_hides_the_hidden_tests(graded: dict) -> None:
    nb = load(graded["solution"])
    hidden, visible = [], []
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if "### BEGIN HIDDEN TESTS" in src:
            before, rest = src.split("### BEGIN HIDDEN TESTS")
            visible.append(before.strip().splitlines()[0])
            hidden += [
                ln.strip()
                for ln in rest.split("### END HIDDEN TESTS")[0].splitlines()
                if len(ln.strip()) > 10
            ]
    assert hidden
    for student in ("sol", "partial", "blank", "cheat"):
        text = _visible_text((graded["out"] / "feedback" / f"{student}.html").read_text())
        assert visible[0] in text  # the method sees code lines at all
        assert "HIDDEN TESTS" not in text
        for line in hidden:
            assert line not in text, f"{student}: feedback shows hidden line {line!r}"


def test_feedback_says_not_attempted_for_stubs(graded: dict) -> None:
    text = _visible_text((graded["out"] / "feedback" / "blank.html").read_text())
    assert "Not attempted" in text
    # A failed check is one line: no traceback into the package's files.
    assert "course/checks" not in text and "_registry.py" not in text


def test_no_outside_network_attempt_while_grading(graded: dict) -> None:
    log = graded["netlog"]
    assert not log.exists() or log.read_text() == "", log.read_text()[:2000]


# Regrading is the same code for every module: two quick modules prove it, and the slow ones
# (m05 runs a CI workflow per submission) keep `make test` in its time budget.
REGRADED = ("m00", "m02")


def test_regrading_one_student_keeps_the_others(graded: dict, tmp_path: Path) -> None:
    if graded["module"] not in REGRADED:
        pytest.skip(f"regrading is module-independent; tested on {', '.join(REGRADED)}")
    out, subs = tmp_path / "out", tmp_path / "subs"
    shutil.copytree(graded["out"], out)
    shutil.copytree(graded["subs"], subs)
    shutil.copyfile(graded["solution"], subs / "blank" / f"{graded['solution'].stem}.ipynb")
    cmd = [sys.executable, "-m", "course", "grade", graded["module"], str(subs), "--out", str(out),
           "--student", "blank", "--no-progress"]  # fmt: skip
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=600)
    with (out / "grades.csv").open() as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["blank"]["score"]) == float(rows["blank"]["max_score"])
    assert rows["sol"] == graded["rows"]["sol"]
    assert rows["broken"] == graded["rows"]["broken"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["m42", "."], "unknown module 'm42'"),
        *[([m.id, "."], f"{m.id} has no notebook yet") for m in _catalog.MODULES if not m.ready][
            -1:
        ],
        (["m02", "no/such/folder"], "does not exist or is not a folder"),
    ],
)
def test_bad_grade_input_is_one_line(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "course", "grade", *args], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and message in proc.stderr
