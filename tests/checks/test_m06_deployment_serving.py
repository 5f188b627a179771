"""m06 checks against a real registry and a real model server (`course.serve`).

Starting a server costs seconds, so one registry and one server serve the whole file (`shop`);
tests that change the registry put it back. The last tests prove no server outlives its owner.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from _assert import assert_one_tick, assert_wrong
from mlflow import MlflowClient
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import course
from course import data, serving

# The server process unpickles the packages logged here: ship their classes by value, as a
# notebook's classes are.
cloudpickle.register_pickle_by_value(sys.modules[__name__])
MODEL = "shopflow-conversion"
FEATURES = list(data.NUMERIC_FEATURES)


RAW_INPUT = Schema([ColSpec(AnyType(), name) for name in FEATURES])


class Repair(TransformerMixin, BaseEstimator):
    """The notebook's solution; `fault` reproduces a learner's slip."""

    def __init__(self, features=tuple(FEATURES), fault: str = ""):
        self.features, self.fault = features, fault
        self.counts = {"repaired": 0, "rejected": 0}

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True

    def _count(self, repaired: int, rejected: int) -> None:
        self.counts["repaired"] += repaired
        self.counts["rejected"] += rejected
        if repaired or rejected:
            logging.getLogger("shopflow.repair").warning(
                "shopflow input: repaired %d values, rejected %d", repaired, rejected
            )

    def transform(self, X):
        X = pd.DataFrame(X)[list(self.features)].copy()
        text = X["aov_30d"].map(lambda v: isinstance(v, str))
        if self.fault == "no_parse":
            X["aov_30d"] = pd.to_numeric(X["aov_30d"], errors="coerce")
        else:
            X["aov_30d"] = X["aov_30d"].astype(str).str.removeprefix("EUR ")
        X = X.apply(pd.to_numeric, errors="coerce").astype(float)
        if self.fault == "silent":  # module 6's old answer: guess, say nothing
            return X.clip(lower=0).fillna(X.median())
        bad = X.isna() | (X < 0)
        if self.fault == "drops":
            return X[~bad.any(axis=1)]
        if self.fault != "uncounted":
            self._count(int((text & ~bad["aov_30d"]).sum()), int(bad.to_numpy().sum()))
        if bad.to_numpy().any():
            rows = list(X.index[bad.any(axis=1)])
            raise ValueError(f"rejected {len(rows)} of {len(X)} rows: rows {rows[:10]}")
        return X


def package_signature(package, typed: bool = False) -> ModelSignature:
    rows = data.split()[1].head(50)[FEATURES]
    outputs = infer_signature(rows, package.predict_proba(rows)).outputs
    return ModelSignature(
        inputs=infer_signature(rows).inputs if typed else RAW_INPUT, outputs=outputs
    )


def predict_rest(url, frame):
    """The notebook's solution."""
    body = '{"dataframe_split": ' + frame[FEATURES].to_json(orient="split", index=False) + "}"
    reply = requests.post(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    reply.raise_for_status()
    return reply.json()["predictions"]


def latency(url, frame, n=200):
    """The notebook's solution."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        predict_rest(url, frame.iloc[[i % len(frame)]])
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def score_file(model_uri, in_path, out_path):
    """The notebook's solution."""
    rows = pd.read_parquet(in_path)
    scores = mlflow.pyfunc.load_model(model_uri).predict(rows)
    out = pd.DataFrame({"customer_id": rows["customer_id"], "score": np.asarray(scores)[:, 1]})
    out.to_parquet(out_path, index=False)
    return len(rows)


class Wrapper(mlflow.pyfunc.PythonModel):
    def __init__(self, model):
        self.model = model

    def predict(self, context, model_input, params=None):
        return self.model.predict_proba(model_input[FEATURES])[:, 1]


class Shop:
    def __init__(self, stack) -> None:
        self.stack, self.client = stack, MlflowClient()
        self.train, self.valid = data.split()
        self.sk = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.sk.fit(self.train[FEATURES], self.train[data.TARGET])
        with mlflow.start_run(run_name="logreg"):
            info = mlflow.sklearn.log_model(
                self.sk, name="model", pip_requirements=stack.pip_requirements
            )
        self.v1 = mlflow.register_model(info.model_uri, MODEL)
        self.pyfunc = self.register(self.sk)
        self.champion(self.pyfunc.version)
        self.server = course.serve(f"models:/{MODEL}@champion")

    def register(
        self,
        sk_model,
        fault: str = "",
        outside: bool = False,
        serves: str = "predict_proba",
        typed: bool = False,
    ):
        """Log and register a package around `sk_model`; the keywords reproduce slips."""
        package = (
            sk_model
            if outside
            else Pipeline([("repair", Repair(fault=fault)), ("model", sk_model)])
        )
        with mlflow.start_run(run_name="package"), course.quiet():
            info = mlflow.sklearn.log_model(
                package,
                name="model",
                signature=package_signature(package, typed),
                pyfunc_predict_fn=serves,
                serialization_format="cloudpickle",
                pip_requirements=self.stack.pip_requirements,
            )
        return mlflow.register_model(info.model_uri, MODEL)

    def register_pyfunc(self):
        """Module 6's former answer: a custom pyfunc around the model."""
        with mlflow.start_run(run_name="pyfunc"):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=Wrapper(self.sk),
                pip_requirements=self.stack.pip_requirements,
            )
        return mlflow.register_model(info.model_uri, MODEL)

    def champion(self, version) -> None:
        self.client.set_registered_model_alias(MODEL, "champion", str(version))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    saved = dict(os.environ)
    os.environ["COURSE_HOME"] = str(tmp_path_factory.mktemp("m06") / "home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    shop = Shop(course.setup("m06", verbose=False))
    yield shop
    shop.server.stop()
    mlflow.set_tracking_uri(None)
    os.environ.clear()
    os.environ.update(saved)


# --- m06.ex1 the package ------------------------------------------------------------------------


def test_ex1_solution_passes_with_one_line(shop, capsys):
    course.check("m06.ex1", model_name=MODEL, version=shop.pyfunc)
    assert_one_tick(capsys, "m06.ex1")


@pytest.mark.parametrize(
    ("slip", "match"),
    [
        ({"outside": True}, "without a 'repair' step first: the repair must travel inside"),
        ({"fault": "no_parse"}, "fails on rows whose only fault is an amount sent as text"),
        ({"fault": "silent"}, "scored rows whose sessions_7d is empty .* a guess, not a repair"),
        ({"fault": "drops"}, "returned 55 scores for 60 rows: dropping rows hides them"),
        ({"fault": "uncounted"}, "counted 0 repairs and 0 rejections: call self._count"),
        (
            {"serves": "predict"},
            "its predict returns an int64 array .* pyfunc_predict_fn='predict_proba'",
        ),
        (
            {"typed": True},
            "the signature's input refuses rows whose only fault .* declare the raw input as RAW_INPUT",
        ),
    ],
)
def test_ex1_wrong_packages(shop, slip, match):
    wrong = shop.register(shop.sk, **slip)
    shop.champion(wrong.version)
    try:
        assert_wrong("m06.ex1", match, model_name=MODEL, version=wrong)
    finally:
        shop.champion(shop.pyfunc.version)


def test_ex1_former_pyfunc_plain_model_or_alias_not_moved(shop):
    assert_wrong("m06.ex1", "without a 'repair' step first", model_name=MODEL, version=shop.v1)
    old = shop.register_pyfunc()
    assert_wrong("m06.ex1", "is not a scikit-learn model", model_name=MODEL, version=old)
    shop.champion(shop.v1.version)
    try:
        assert_wrong("m06.ex1", "not your package", model_name=MODEL, version=shop.pyfunc)
    finally:
        shop.champion(shop.pyfunc.version)


def test_ex1_not_attempted(embedded):
    embedded("m06")
    with pytest.raises(course.NotAttempted):
        course.check("m06.ex1", model_name=MODEL, version=None)
    with pytest.raises(course.NotAttempted, match="first cells register it"):
        course.check("m06.ex1", model_name=MODEL, version=1)


# --- m06.ex2 REST and m06.ex3 latency ------------------------------------------------------


def test_ex2_solution_passes_with_one_line(shop, capsys):
    course.check("m06.ex2", predict_rest=predict_rest, url=shop.server.url)
    assert_one_tick(capsys, "m06.ex2")


def test_ex2_wrong_answers(shop):
    url = shop.server.url

    def whole_reply(url, frame):
        return {"predictions": predict_rest(url, frame)}

    def local_sklearn(url, frame):
        return list(shop.sk.predict_proba(frame[FEATURES].fillna(0))[:, 1])

    def labels(url, frame):
        return [round(p1) for _, p1 in predict_rest(url, frame)]

    assert_wrong("m06.ex2", "should return the list", predict_rest=whole_reply, url=url)
    assert_wrong("m06.ex2", "raised", predict_rest=local_sklearn, url=url)
    assert_wrong("m06.ex2", "not the served version", predict_rest=labels, url=url)
    assert_wrong(
        "m06.ex2", "no model server answers", predict_rest=predict_rest, url="http://127.0.0.1:9"
    )
    assert_wrong(
        "m06.ex2", "should be the server's URL", predict_rest=predict_rest, url="localhost"
    )


def test_ex2_ex3_not_attempted(shop):
    def stub(*args):
        raise NotImplementedError()

    for exercise, arg in (("m06.ex2", "predict_rest"), ("m06.ex3", "latency")):
        for fn in (None, stub):
            with pytest.raises(course.NotAttempted):
                course.check(exercise, url=shop.server.url, **{arg: fn})


def test_ex3_solution_passes_with_one_line(shop, capsys):
    course.check("m06.ex3", latency=latency, url=shop.server.url)
    assert_one_tick(capsys, "m06.ex3")


def test_ex3_wrong_answers(shop):
    url = shop.server.url

    def made_up(url, frame, n=200):
        return {"p50_ms": 3.0, "p95_ms": 5.0}

    def seconds(url, frame, n=200):
        return {k: v / 1000 for k, v in latency(url, frame, n).items()}

    def swapped(url, frame, n=200):
        got = latency(url, frame, n)
        return {"p50_ms": got["p95_ms"] + 1, "p95_ms": got["p50_ms"]}

    def twice(url, frame, n=200):
        latency(url, frame, n)
        return latency(url, frame, n)

    assert_wrong("m06.ex3", "sent 0 requests", latency=made_up, url=url)
    assert_wrong("m06.ex3", "faster than the server itself", latency=seconds, url=url)
    assert_wrong("m06.ex3", "are not ordered", latency=swapped, url=url)
    assert_wrong("m06.ex3", "one per row asked", latency=twice, url=url)
    assert_wrong("m06.ex3", "should return", latency=lambda u, f, n=200: (1, 2), url=url)


# --- m06.ex4 batch -------------------------------------------------------------------------


def test_ex4_solution_passes_with_one_line(shop, capsys):
    course.check("m06.ex4", score_file=score_file, model_name=MODEL)
    assert_one_tick(capsys, "m06.ex4")


def test_ex4_wrong_answers(shop):
    def bare_model(model_uri, in_path, out_path):
        return score_file(f"models:/{MODEL}/{shop.v1.version}", in_path, out_path)

    def csv(model_uri, in_path, out_path):
        rows = pd.read_parquet(in_path)
        scores = mlflow.pyfunc.load_model(model_uri).predict(rows)
        scores = np.asarray(scores)[:, 1]
        pd.DataFrame({"customer_id": rows["customer_id"], "score": scores}).to_csv(out_path)
        return len(rows)

    def sorted_out(model_uri, in_path, out_path):
        score_file(model_uri, in_path, out_path)
        pd.read_parquet(out_path).sort_values("customer_id").to_parquet(out_path)
        return len(pd.read_parquet(out_path))

    def no_count(model_uri, in_path, out_path):
        score_file(model_uri, in_path, out_path)

    def p_no_purchase(model_uri, in_path, out_path):
        rows = pd.read_parquet(in_path)
        scores = np.asarray(mlflow.pyfunc.load_model(model_uri).predict(rows))[:, 0]
        pd.DataFrame({"customer_id": rows["customer_id"], "score": scores}).to_parquet(out_path)
        return len(rows)

    assert_wrong("m06.ex4", "raised", score_file=bare_model, model_name=MODEL)
    assert_wrong("m06.ex4", "not a parquet file", score_file=csv, model_name=MODEL)
    assert_wrong("m06.ex4", "order differs", score_file=sorted_out, model_name=MODEL)
    assert_wrong("m06.ex4", "not the number of rows", score_file=no_count, model_name=MODEL)
    assert_wrong(
        "m06.ex4", "not the champion's predictions", score_file=p_no_purchase, model_name=MODEL
    )


# --- m06.ex5 Dockerfile --------------------------------------------------------------------


def generate(uri: str, folder: Path) -> Path:
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}
    cmd = [sys.executable, "-m", "mlflow", "models", "generate-dockerfile", "-m", uri]
    cmd += ["-d", str(folder), "--env-manager", "local"]
    subprocess.run(cmd, capture_output=True, check=True, env=env)
    return folder


def test_ex5_right_and_wrong_dockerfiles(shop, tmp_path, capsys):
    right = generate(f"models:/{MODEL}@champion", tmp_path / "right")
    capsys.readouterr()
    course.check("m06.ex5", docker_dir=right, model_name=MODEL)
    assert_one_tick(capsys, "m06.ex5")
    old = generate(f"models:/{MODEL}/{shop.v1.version}", tmp_path / "old")
    assert_wrong("m06.ex5", "not @champion", docker_dir=old, model_name=MODEL)
    assert_wrong("m06.ex5", "no Dockerfile", docker_dir=tmp_path, model_name=MODEL)
    assert_wrong("m06.ex5", "should be a path", docker_dir=3, model_name=MODEL)
    with pytest.raises(course.NotAttempted):
        course.check("m06.ex5", docker_dir=None, model_name=MODEL)


# --- m06.ex6 rollback of the live server -----------------------------------------------------


def test_ex6_rollback(shop, capsys):
    url, good = shop.server.url, shop.pyfunc
    bad_sk = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    labels = shop.train[data.TARGET].sample(frac=1, random_state=0).to_numpy()
    bad = shop.register(bad_sk.fit(shop.train[FEATURES], labels))
    shop.champion(bad.version)
    assert str(shop.server.reload()) == str(bad.version)
    args = {"url": url, "model_name": MODEL, "version": good}
    assert_wrong("m06.ex6", "@champion is v", served_version=bad.version, **args)
    shop.champion(good.version)
    assert_wrong("m06.ex6", "still answers with", served_version=good.version, **args)
    served = shop.server.reload()
    assert_wrong("m06.ex6", "served_version is", served_version="1", **args)
    with pytest.raises(course.NotAttempted):
        course.check("m06.ex6", served_version=None, **args)
    capsys.readouterr()
    course.check("m06.ex6", served_version=served, **args)
    assert_one_tick(capsys, "m06.ex6")


# --- the server: errors and cleanup ----------------------------------------------------------


def test_serve_rejects_bad_input_in_one_line(shop):
    with pytest.raises(course.CourseError, match="takes a model URI"):
        course.serve("shopflow-conversion")
    port = int(shop.server.url.rsplit(":", 1)[1])
    with pytest.raises(course.CourseError, match=f"port {port} on 127.0.0.1 is in use"):
        course.serve(f"models:/{MODEL}@champion", port=port)
    with pytest.raises(course.CourseError, match="the model server exited"):
        course.serve("models:/no-such-model@champion")


def test_stop_all_stops_a_server_whose_kernel_died(shop):
    """What grading does after each submission: a server whose owner vanished is stopped."""
    script = (
        "import os, course; course.setup('m06', verbose=False); "
        f"s = course.serve('models:/{MODEL}@champion'); print(s.pid, flush=True); os._exit(0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    pid = int(proc.stdout.split()[-1])
    assert serving._alive(pid), "the orphaned server should still be running"
    assert serving.stop_all() >= 1
    assert not serving._alive(pid)
    assert not list((Path(os.environ["COURSE_HOME"]) / "run" / "serving").glob(f"serve-{pid}.json"))


def test_quiz(course_home, capsys):
    for qid, right, wrong in (
        ("m06.q1", "b", "a"),
        ("m06.q2", "b", "c"),
        ("m06.q3", "a", "b"),
        ("m06.q4", 2, 3),
    ):
        course.quiz.check(qid, right)
        assert_one_tick(capsys, qid)
        with pytest.raises(course.CheckError):
            course.quiz.check(qid, wrong)
        with pytest.raises(course.NotAttempted):
            course.quiz.check(qid, None)


# --- the inference log: what module 7 monitors and module 9 retrains from --------------------


def _logged_weeks(home) -> set:
    from course import _inference_log

    log = _inference_log.read(home)
    return set(log["week"].dropna().astype(int)) if "week" in log else set()


def test_the_server_logs_the_traffic_it_answers(shop, capsys):
    from course import _inference_log, handoff

    # A server of its own: an earlier test stops every server of the state dir.
    with course.serve(f"models:/{MODEL}@champion") as server:
        version = str(server.version())
        assert handoff.replay(server.url, [24]) == (data.activity()["week"] == 24).sum()
        assert _logged_weeks(shop.stack.home) >= {24}  # replay has the server write its log
        predict_rest(server.url, shop.valid.head(3))  # an ad-hoc call without keys
        assert server.flush() == 3
    capsys.readouterr()
    log = handoff.traffic(shop.stack, [24])
    assert "no traffic" not in capsys.readouterr().out, "the server's log was not used"
    assert set(log["model_version"]) == {version}
    rows = data.activity()
    rows = rows[rows["week"] == 24].sort_values("customer_id")
    served = mlflow.pyfunc.load_model(f"models:/{MODEL}/{version}").predict(rows)
    assert np.allclose(log["prediction"], np.asarray(served)[:, 1])
    raw = _inference_log.read(shop.stack.home)
    assert raw["customer_id"].isna().sum() >= 3  # the ad-hoc call is logged too, without keys


def test_a_stopped_server_has_written_every_request(shop):
    from course import _inference_log

    before = len(_inference_log.read(shop.stack.home))
    server = course.serve(f"models:/{MODEL}@champion")
    predict_rest(server.url, shop.valid.head(7))
    server.stop()
    assert len(_inference_log.read(shop.stack.home)) == before + 7
