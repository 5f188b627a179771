"""The learner's journey: every solution notebook in course order in one state dir.

Each module test elsewhere starts from an empty state dir (the grading and Colab tests run every
module alone). A learner does not: they do m00 to m10 in one workspace, and re-run notebooks.
Here the whole course runs twice in one embedded state dir, and once against `course stack up`;
every cell must run and every check pass, and the hand-offs between modules must hold: m06
serves the learner's champion, m07 monitors m06's inference log, m09's retrain is promoted over
the served model, and m10 explains the champion m09 left.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "stack"))

import _journey  # noqa: E402
import _proc  # noqa: E402

pytestmark = [pytest.mark.notebook, pytest.mark.journey]


def _champion(home: Path) -> object:
    """The learner's @champion, read the way a notebook would."""
    from mlflow import MlflowClient

    import course

    os.environ["COURSE_HOME"] = str(home)
    stack = course.setup("m00", verbose=False)
    return MlflowClient().get_model_version_by_alias(stack.model_name, "champion")


def _predictions(home: Path, version: str) -> object:
    import course
    from course import data, handoff

    os.environ["COURSE_HOME"] = str(home)
    stack = course.setup("m00", verbose=False)
    model = handoff.estimator(f"models:/{stack.model_name}/{version}")
    rows = data.split()[1].head(300)
    return model.predict_proba(rows[list(data.NUMERIC_FEATURES)])[:, 1]


def _walk(home: Path, workdir: Path) -> dict[str, _journey.Run]:
    """Every module in course order; returns the runs, and fails with every error found."""
    import numpy as np

    runs: dict[str, _journey.Run] = {}
    champions: dict[str, str] = {}
    for path in _journey.SOLUTIONS:
        run = _journey.run(path, home, workdir)
        runs[run.module] = run
        print(f"{run.module} {run.seconds:5.1f} s", flush=True)
        assert run.ok, f"{run.module} after the modules before it:\n" + "\n".join(run.errors)
        if run.module in ("m05", "m06", "m08", "m09"):
            champions[run.module] = str(_champion(home).version)
    # m06 serves the learner's champion: its pyfunc wraps the model that was @champion before.
    before, served = champions["m05"], champions["m06"]
    assert served != before, "m06 did not register the served pyfunc as @champion"
    assert np.allclose(_predictions(home, before), _predictions(home, served))
    # m07 monitors the traffic m06's server answered (no baseline replay was needed).
    assert f"answered by v{served}" in runs["m07"].outputs
    assert "scoring them with @champion" not in runs["m07"].outputs
    # m09 retrains from the logged traffic and promotes over the served model.
    retrained = champions["m09"]
    assert retrained != served, "m09 did not promote a retrain over the served champion"
    from mlflow import MlflowClient

    chain, version = [], retrained
    while version:
        chain.append(version)
        name = _champion(home).name
        version = MlflowClient().get_model_version(name, version).tags.get("promoted_from")
    assert served in chain, f"m09's promotions {chain} do not start from the served v{served}"
    # m10 explains the champion m09 left.
    assert re.search(rf"v{retrained} @champion", runs["m10"].outputs)
    client = MlflowClient()
    # version -> run -> data version: m02's and m03's runs and m03's audited version name the
    # DVC version m01 recorded, and DVC's cache holds it.
    dvc_file = home / "work" / "m01" / "data" / "train.parquet.dvc"
    md5 = yaml.safe_load(dvc_file.read_text())["outs"][0]["md5"]
    assert (dvc_file.parent / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).is_file()
    lineage = client.search_runs(
        [client.get_experiment_by_name(f"shopflow-m0{i}").experiment_id for i in (2, 3)],
        "params.data_version != ''",
    )
    assert {r.data.params["data_version"] for r in lineage} == {md5}, "runs name other data"
    audited = client.search_model_versions(f"name = '{name}'")
    assert {v.tags["data_version"] for v in audited if "data_version" in v.tags} == {md5}
    # The checks cleaned up after themselves: the MLflow UI shows the learner's work only.
    experiments = {e.name for e in client.search_experiments()}
    assert experiments <= {"Default"} | {f"shopflow-m{i:02d}" for i in range(11)}, experiments
    models = {m.name for m in client.search_registered_models()}
    assert models == {"shopflow-conversion"}, models
    return runs


def test_embedded_journey_and_a_second_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("COURSE_STUDENT_ID", raising=False)
    home, workdir = tmp_path / "home", tmp_path / "workspace"
    _walk(home, workdir)
    for path in _journey.SOLUTIONS:  # learners go back: every module again, in the same state
        run = _journey.run(path, home, workdir)
        print(f"{run.module} again {run.seconds:5.1f} s", flush=True)
        assert run.ok, f"{run.module} run a second time:\n" + "\n".join(run.errors)


@pytest.mark.server
def test_journey_against_the_stack_server(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("COURSE_STUDENT_ID", raising=False)
    home = tmp_path / "home"
    env = _proc.course_env(home)
    up = _proc.course(env, "stack", "up", "--port", str(_proc.free_port()))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        runs = _walk(home, tmp_path / "workspace")
        assert "server MLflow" in runs["m00"].outputs
    finally:
        _proc.course(env, "stack", "down")
