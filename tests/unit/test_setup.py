"""course.setup picks the stack in the documented order and keeps everything in the state dir."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

import course
from course import _catalog


def test_embedded_by_default_with_artifacts_in_the_state_dir(
    embedded, course_home: Path, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stack = embedded("m02")
    assert stack.mode == "embedded" and str(course_home) in stack.tracking_uri
    other = mlflow.create_experiment("elsewhere")
    with mlflow.start_run(experiment_id=other):
        mlflow.log_dict({"a": 1}, "a.json")
    assert mlflow.get_experiment(other).artifact_location.startswith(course_home.as_uri())
    assert not (tmp_path / "mlruns").exists()


def test_env_tracking_uri_wins(course_home: Path, tmp_path: Path, monkeypatch) -> None:
    uri = f"sqlite:///{tmp_path / 'class.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    stack = course.setup("m00", verbose=False)
    assert stack.mode == "env" and mlflow.get_tracking_uri() == uri


def test_student_id_namespaces_the_experiment(embedded, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_STUDENT_ID", "ada")
    assert embedded("m02").experiment_name == "ada/shopflow-m02"
    assert embedded("m02").model_name == "ada.shopflow-conversion"
    monkeypatch.setenv("COURSE_STUDENT_ID", "a b/c")
    with pytest.raises(course.CourseError, match="COURSE_STUDENT_ID"):
        embedded("m02")


def test_setup_prints_one_status_line_and_nothing_on_stderr(course_home, capsys) -> None:
    course.setup("2")
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and out.startswith("✓ m02") and "embedded" in out
    assert err == ""


@pytest.mark.parametrize("name", ["m2", "02", "02_experiment_tracking", "M02"])
def test_module_names_resolve(name: str) -> None:
    assert _catalog.get(name).id == "m02"


def test_unknown_module_is_one_line(course_home) -> None:
    with pytest.raises(course.CourseError, match="unknown module 'm42'; the modules are m00"):
        course.setup("m42")


def test_a_new_state_dir_starts_from_the_cached_template(
    embedded, course_home, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    embedded("m00")
    assert list((tmp_path / "cache" / "mlops-course").glob("mlflow-*-empty.db"))
    assert mlflow.get_experiment("0").artifact_location.startswith(course_home.as_uri())


def test_a_broken_template_only_costs_time(embedded, tmp_path, monkeypatch) -> None:
    from course.stack import _template

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _template().parent.mkdir(parents=True)
    _template().write_bytes(b"not a database")
    stack = embedded("m00")
    with mlflow.start_run():
        mlflow.log_metric("x", 1.0)
    assert stack.mode == "embedded"


def test_warnings_after_setup_stay_visible_but_off_stderr(embedded, capsys) -> None:
    """nbgrader scores a graded cell with any stderr as 0: warnings go to stdout instead."""
    import warnings

    embedded("m00")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
    out, err = capsys.readouterr()
    assert "old API" in out and err == ""
