"""Checks for m06 Deployment and serving: they load the registry's models themselves and call
the learner's running server."""

from __future__ import annotations

import json
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .. import data
from .._errors import CheckError, NotAttempted
from . import _mlflow, _values
from ._expect import a_function, attempted, expect
from ._registry import Question, exercise, question

FIRST = "the first cells register it"


def _pyfunc(uri: str) -> Any:
    import mlflow

    from .._quiet import quiet

    with quiet():
        return mlflow.pyfunc.load_model(uri)


def _predict(model: Any, rows: Any) -> Any:
    """A model's answers, with its repair step's log lines kept off the graded cell's stderr."""
    from .._quiet import quiet

    with quiet():
        return model.predict(rows)


def _scores(predictions: Any, n: int, who: str) -> Any:
    """P(purchase) per row as a float array of length n, or a one-line reason why not. A model
    that serves predict_proba answers two columns per row: the last one is P(purchase)."""
    import numpy as np

    if hasattr(predictions, "to_numpy"):
        predictions = predictions.to_numpy()
    try:
        values = np.asarray(predictions, dtype=float)
    except (TypeError, ValueError):
        raise CheckError(f"{who} should give numbers, not {str(predictions)[:80]!r}") from None
    values = values[:, -1] if values.ndim == 2 else values.reshape(-1)
    expect(len(values) == n, f"{who} gave {len(values)} predictions for {n} rows")
    return values


def _text_only(frame: Any) -> Any:
    """Incident rows whose only fault is the amount sent as text: the package must score them."""
    empty, negative = data.INCIDENT["null_column"], data.INCIDENT["negative_column"]
    return frame[frame[empty].notna() & (frame[negative] >= 0)]


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def _schema_error(exc: BaseException) -> str | None:
    """MLflow's reason when the signature's input refused the rows, else None."""
    text = " ".join(str(exc).split())
    if not text.startswith("Failed to enforce schema"):
        return None
    return text.rsplit("Error: ", 1)[-1][:160]


def _refused(exc: BaseException, rows: str) -> CheckError:
    why = _schema_error(exc)
    if why is not None:
        return CheckError(
            f"the signature's input refuses {rows} ({why}): declare the raw input as RAW_INPUT "
            "does, every feature of any type, and let the repair step decide"
        )
    if rows == "clean rows":
        return CheckError(
            f"loaded from the registry, the package fails on clean rows: {_first_line(exc)}"
        )
    return CheckError(
        f"the package fails on {rows} ('EUR 41.20'): {_first_line(exc)}; parse the number"
    )


def _package(mv: Any) -> tuple[Any, Any]:
    """The registered version as the scikit-learn Pipeline it was logged as, and its info."""
    import mlflow
    from mlflow.models import get_model_info

    from .._quiet import quiet

    info = get_model_info(mv.source)
    expect(
        "sklearn" in info.flavors,
        f"version {mv.version} is not a scikit-learn model (flavors: "
        f"{', '.join(sorted(info.flavors))}): log the Pipeline with mlflow.sklearn.log_model",
    )
    with quiet():
        model = mlflow.sklearn.load_model(mv.source)
    steps = getattr(model, "steps", None)
    expect(
        isinstance(steps, list) and len(steps) >= 2 and steps[0][0] == "repair",
        f"version {mv.version} is a {type(model).__name__} without a 'repair' step first: the "
        "repair must travel inside the model, log Pipeline([('repair', Repair()), ('model', "
        "sk_model)])",
    )
    return model, info


def _rejects(model: Any, clean: Any) -> str:
    """Feed the package rows it must reject; check the error and the counts."""
    import numpy as np

    empty, negative = data.INCIDENT["null_column"], data.INCIDENT["negative_column"]
    rows = clean.head(60)[list(data.NUMERIC_FEATURES)].copy()
    rows[data.INCIDENT["retyped_column"]] = "EUR " + rows[data.INCIDENT["retyped_column"]].map(
        "{:.2f}".format
    )
    rows[empty] = rows[empty].astype(float)
    rows.loc[rows.index[[3, 17, 40]], empty] = np.nan
    rows.loc[rows.index[[9, 51]], negative] = -3
    n, text, bad = len(rows), len(rows), 5
    repair = model.named_steps["repair"]
    counts = getattr(repair, "counts", None)
    expect(
        isinstance(counts, dict) and {"repaired", "rejected"} <= set(counts),
        "the repair step has no counts {'repaired': ..., 'rejected': ...}: keep the scaffold's "
        "__init__ and _count",
    )
    before = dict(counts)
    from .._quiet import quiet

    try:
        with quiet():
            out = model.predict_proba(rows)
    except ValueError:
        out = None
    except Exception as exc:
        raise CheckError(
            f"on rows with empty or negative values the package raised {type(exc).__name__} "
            f"({_first_line(exc)}): raise a ValueError that names the rows"
        ) from None
    if out is not None:
        got = len(np.asarray(out))
        expect(
            got == n,
            f"the package returned {got} scores for {n} rows: dropping rows hides them from "
            "the caller; raise a ValueError that names them",
        )
        raise CheckError(
            f"the package scored rows whose {empty} is empty or whose {negative} is negative: "
            "a median or a 0 is a guess, not a repair; reject them with a ValueError that "
            "names the rows (and count them)"
        )
    repaired = counts["repaired"] - before["repaired"]
    rejected = counts["rejected"] - before["rejected"]
    expect(
        (repaired, rejected) == (text, bad),
        f"on {n} rows with {text} amounts sent as text and {bad} empty or negative values, the "
        f"repair step counted {repaired} repairs and {rejected} rejections: call "
        "self._count(repaired, rejected) with both, before raising",
    )
    return f"rejects and counts ({bad} of {n})"


@exercise(
    "m06.ex1",
    "A package: the model and its preprocessing",
    hints=(
        "Work on `pd.DataFrame(X)[list(self.features)].copy()`; note which amounts are text "
        "(`X['aov_30d'].map(lambda v: isinstance(v, str))`) before parsing them.",
        "`X['aov_30d'].astype(str).str.removeprefix('EUR ')`, then "
        "`X.apply(pd.to_numeric, errors='coerce').astype(float)`; what is missing or negative "
        "now (`X.isna() | (X < 0)`) has no honest reading: count it, then raise a ValueError.",
        "`mlflow.sklearn.log_model(package, name='model', signature=ModelSignature(inputs="
        "RAW_INPUT, outputs=infer_signature(rows, package.predict_proba(rows)).outputs), "
        "pyfunc_predict_fn='predict_proba', serialization_format='cloudpickle', "
        "pip_requirements=stack.pip_requirements)`; register it and move champion.",
    ),
)
def pyfunc(model_name: Any, version: Any) -> str:
    attempted(version, "pyfunc_version")
    name = _mlflow.model_name(model_name, FIRST)
    mv = _mlflow.model_version(name, version, "pyfunc_version")
    package, info = _package(mv)
    champion = _mlflow.alias_version(name, "champion")
    expect(
        str(champion.version) == str(mv.version),
        f"@champion is v{champion.version}, not your package v{mv.version}: move the alias",
    )
    expect(
        info.signature is not None,
        "the package has no signature: pass signature=ModelSignature(inputs=RAW_INPUT, ...)",
    )
    missing = [c for c in data.NUMERIC_FEATURES if c not in info.signature.inputs.input_names()]
    expect(not missing, f"the signature's input lacks the features {missing}")
    import numpy as np

    from .m02_experiment_tracking import output_mismatch

    model = _pyfunc(mv.source)
    _, valid = data.split()
    try:
        clean_raw = _predict(model, valid.copy())
    except Exception as exc:
        raise _refused(exc, "clean rows") from None
    mismatch = output_mismatch(info.signature, valid[list(data.NUMERIC_FEATURES)], clean_raw)
    expect(mismatch is None, mismatch or "")
    clean = _scores(clean_raw, len(valid), "the package")
    expect(
        not set(np.unique(clean)) <= {0.0, 1.0},
        "the package serves labels (0/1): log it with pyfunc_predict_fn='predict_proba'",
    )
    inner = package.steps[-1][1]
    expect(
        np.allclose(
            clean, inner.predict_proba(valid[list(data.NUMERIC_FEATURES)])[:, 1], atol=1e-6
        ),
        "on clean rows the package's scores differ from the model inside it",
    )
    twins = _text_only(data.quality_incident(valid))
    try:
        raw = _predict(model, twins.copy())
    except Exception as exc:
        raise _refused(exc, "rows whose only fault is an amount sent as text") from None
    dirty = _scores(raw, len(twins), "the package on text amounts")
    expect(
        np.allclose(dirty, clean[valid.index.get_indexer(twins.index)], atol=1e-6),
        "rows whose only fault is the 'EUR' text score differently from their clean twins: "
        "parse the number, do not replace it",
    )
    rejected = _rejects(package, valid)
    return f"v{mv.version} scores clean rows as before, parses text amounts, {rejected}"


def _url(url: Any) -> str:
    attempted(url, "url")
    expect(
        isinstance(url, str) and url.startswith("http://127.0.0.1:"),
        f"`url` should be the server's URL (server.url), not {url!r}",
    )
    return url.rstrip("/")


def _get(url: str, path: str) -> str:
    try:
        with urllib.request.urlopen(url + path, timeout=10) as r:
            return r.read().decode()
    except (OSError, urllib.error.URLError):
        raise CheckError(
            f"no model server answers at {url}: run the cell that starts it "
            "(server = course.serve(...))"
        ) from None


def _served_version(url: str) -> str:
    return str(json.loads(_get(url, "/version"))["version"])


def _served_model(url: str) -> Any:
    info = json.loads(_get(url, "/version"))
    return _pyfunc(f"models:/{info['name']}/{info['version']}")


def _requests(url: str) -> int:
    found = re.search(r"^serving_requests_total (\d+)", _get(url, "/metrics"), re.M)
    return int(found.group(1)) if found else 0


def _server_quantile(url: str, q: str) -> float:
    found = re.search(rf'quantile="{q}"\}} ([0-9.e-]+)', _get(url, "/metrics"))
    return float(found.group(1)) * 1000 if found else 0.0


@exercise(
    "m06.ex2",
    "Call the model over REST",
    hints=(
        "The body is JSON: {'dataframe_split': {'columns': [...], 'data': [[...]]}}.",
        "`frame[FEATURES].to_json(orient='split', index=False)` is the inner object; wrap it in "
        "'{\"dataframe_split\": ' ... '}' and POST it to f'{url}/invocations'.",
        "`requests.post(..., data=body, headers={'Content-Type': 'application/json'})`, then "
        "`.json()['predictions']`.",
    ),
)
def rest(predict_rest: Any, url: Any) -> str:
    fn = a_function(predict_rest, "predict_rest")
    url = _url(url)
    model = _served_model(url)
    _, valid = data.split()
    incident = data.quality_incident(valid)
    import numpy as np

    for label, rows in (
        ("clean rows", valid.sample(40, random_state=11)),
        ("rows with text amounts", _text_only(incident).sample(30, random_state=12)),
    ):
        got = fn(url, rows.copy())
        expect(
            isinstance(got, list | tuple | np.ndarray),
            f"predict_rest should return the list of predictions, not a {type(got).__name__}",
        )
        values = _scores(got, len(rows), "predict_rest")
        expect(
            np.allclose(values, _scores(_predict(model, rows.copy()), len(rows), "the model")),
            f"on {label} predict_rest's answers are not the served version's predictions",
        )
    return f"predict_rest gets the served version's predictions (v{_served_version(url)})"


@exercise(
    "m06.ex3",
    "Measure p50 and p95",
    hints=(
        "One request per row: `frame.iloc[[i % len(frame)]]` keeps a one-row DataFrame.",
        "Wrap each `predict_rest(url, row)` in `time.perf_counter()` calls and collect ms.",
        "`np.percentile(times, 50)` and `np.percentile(times, 95)` in a dict with the keys "
        "p50_ms and p95_ms.",
    ),
)
def latency(latency: Any, url: Any) -> str:
    fn = a_function(latency, "latency")
    url = _url(url)
    _, valid = data.split()
    n = 40
    before = _requests(url)
    got = fn(url, valid.head(25).copy(), n)
    sent = _requests(url) - before
    ok = isinstance(got, dict) and {"p50_ms", "p95_ms"} <= set(got)
    expect(ok, f"latency should return {{'p50_ms': ..., 'p95_ms': ...}}, not {got!r:.80}")
    wrong = "p50_ms and p95_ms should be numbers (milliseconds)"
    p50, p95 = _values.as_float(got["p50_ms"], wrong), _values.as_float(got["p95_ms"], wrong)
    expect(sent >= n, f"latency(url, frame, {n}) sent {sent} requests to the server, not {n}")
    expect(sent <= n + 5, f"latency(url, frame, {n}) sent {sent} requests: one per row asked")
    expect(0 < p50 <= p95, f"p50 = {p50:.3g} ms and p95 = {p95:.3g} ms are not ordered")
    server_p50 = _server_quantile(url, "0.5")
    expect(
        p50 >= 0.5 * server_p50,
        f"p50 = {p50:.3g} ms is faster than the server itself ({server_p50:.3g} ms): "
        "measure milliseconds around each request",
    )
    expect(p95 < 60_000, f"p95 = {p95:.3g} ms: are these milliseconds?")
    return f"{sent} requests, p50 {p50:.1f} ms, p95 {p95:.1f} ms"


@exercise(
    "m06.ex4",
    "Score a file in batch",
    hints=(
        "Batch scoring loads the model in-process: `mlflow.pyfunc.load_model(model_uri)`.",
        "Read the file with `pd.read_parquet(in_path)` and score all of it with one `predict`: "
        "it answers [P(no purchase), P(purchase)] per row.",
        "`pd.DataFrame({'customer_id': rows['customer_id'], 'score': np.asarray(scores)[:, 1]})"
        ".to_parquet(out_path, index=False)`, then return len(rows).",
    ),
)
def batch(score_file: Any, model_name: Any) -> str:
    fn = a_function(score_file, "score_file")
    name = _mlflow.model_name(model_name, FIRST)
    uri = f"models:/{name}@champion"
    import numpy as np
    import pandas as pd

    _, valid = data.split()
    # A file as production writes it: amounts as text (rows the package would reject stay out).
    rows = _text_only(data.quality_incident(valid)).sample(400, random_state=5)
    rows = rows.reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        src, out = Path(tmp) / "customers.parquet", Path(tmp) / "scores.parquet"
        rows.to_parquet(src)
        from .._quiet import quiet

        with quiet():  # the package logs its repairs: keep them off the graded cell's stderr
            count = fn(uri, str(src), str(out))
        expect(out.exists(), "score_file wrote nothing at out_path")
        try:
            written = pd.read_parquet(out)
        except Exception:
            raise CheckError("out_path is not a parquet file: use .to_parquet(out_path)") from None
    expect(
        {"customer_id", "score"} <= set(written.columns),
        f"the output has columns {list(written.columns)}, not customer_id and score",
    )
    expect(len(written) == len(rows), f"the output has {len(written)} rows for {len(rows)} in")
    expect(
        (written["customer_id"].to_numpy() == rows["customer_id"].to_numpy()).all(),
        "the output's customer_id order differs from the input's",
    )
    want = _scores(_predict(_pyfunc(uri), rows.copy()), len(rows), "the champion")
    expect(
        np.allclose(written["score"].to_numpy(dtype=float), want),
        "the scores are not the champion's predictions for those rows",
    )
    expect(count == len(rows), f"score_file returned {count!r}, not the number of rows")
    return f"{len(rows)} rows scored by @champion, order kept"


@exercise(
    "m06.ex5",
    "Generate the champion's Dockerfile",
    hints=(
        "The command is `mlflow models generate-dockerfile -m <model uri> -d <folder>`.",
        "Run it with subprocess.run([...], capture_output=True, env={**os.environ, "
        "'MLFLOW_TRACKING_URI': mlflow.get_tracking_uri()}).",
        "Use `-m f'models:/{MODEL}@champion'`, `-d str(stack.path('docker'))` and "
        "`--env-manager local`; keep the folder in docker_dir.",
    ),
)
def dockerfile(docker_dir: Any, model_name: Any) -> str:
    attempted(docker_dir, "docker_dir")
    expect(isinstance(docker_dir, str | Path), f"`docker_dir` should be a path, not {docker_dir!r}")
    folder = Path(docker_dir)
    dockerfile = folder / "Dockerfile"
    expect(dockerfile.is_file(), f"no Dockerfile in {folder}: did the command run?")
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    expect(re.search(r"^FROM python", text, re.M), "the Dockerfile does not start FROM python")
    expect("COPY model_dir" in text, "the Dockerfile does not copy the model in")
    mlmodel = folder / "model_dir" / "MLmodel"
    expect(mlmodel.is_file(), "model_dir/MLmodel is missing: the model was not packaged")
    name = _mlflow.model_name(model_name, FIRST)
    champion = _mlflow.alias_version(name, "champion")
    found = re.search(r"^model_id: (\S+)", mlmodel.read_text(), re.M)
    packaged = found.group(1) if found else "?"
    expect(
        champion.source.endswith(packaged),
        f"the Dockerfile packages model {packaged}, not @champion (v{champion.version})",
    )
    return f"Dockerfile for v{champion.version} in {folder.name}/"


@exercise(
    "m06.ex6",
    "Roll back the live server",
    hints=(
        "Two steps: the registry first, then the server.",
        "`client.set_registered_model_alias(MODEL, 'champion', pyfunc_version.version)`.",
        "`server.reload()` makes the server re-read the alias and returns the version it loaded.",
    ),
)
def rollback(url: Any, model_name: Any, version: Any, served_version: Any) -> str:
    if served_version is None:
        raise NotAttempted("`served_version` is still None: roll back and reload the server")
    url = _url(url)
    name = _mlflow.model_name(model_name, FIRST)
    good = _mlflow.model_version(name, version, "pyfunc_version")
    champion = _mlflow.alias_version(name, "champion")
    expect(
        str(champion.version) == str(good.version),
        f"@champion is v{champion.version}, not your package v{good.version}: move it back",
    )
    serving = _served_version(url)
    expect(
        serving == str(good.version),
        f"the server still answers with v{serving}: call server.reload() after moving the alias",
    )
    expect(
        str(served_version) == serving,
        f"served_version is {served_version!r} but the server serves v{serving}",
    )
    import numpy as np
    import requests

    _, valid = data.split()
    rows = valid.sample(20, random_state=21)
    cols = list(data.NUMERIC_FEATURES)
    body = '{"dataframe_split": ' + rows[cols].to_json(orient="split", index=False) + "}"
    reply = requests.post(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    want = _scores(_predict(_pyfunc(good.source), rows.copy()), len(rows), "the package")
    expect(
        np.allclose(_scores(reply.json()["predictions"], len(rows), "the server"), want),
        "the server's answers are not your package's predictions",
    )
    return f"the live server answers with v{serving} again"


question(
    Question(
        "m06.q1",
        "choice",
        "1f152991368c54d6908f",
        "Why preprocessing travels with the model",
        ("a", "b", "c"),
    )
)
question(
    Question(
        "m06.q2", "choice", "11773750ac6d78d0206f", "Why p95 rather than the mean", ("a", "b", "c")
    )
)
question(
    Question(
        "m06.q3",
        "choice",
        "a6274c2e05d66178f195",
        "What a running server serves after an alias moves",
        ("a", "b", "c"),
    )
)
question(
    Question(
        "m06.q4",
        "number",
        "f10e2eccdf5af772e633",
        "Versions one run adds",
        tolerance=0.5,
        hint="count the register calls: your pyfunc, the bad retrain",
    )
)  # fmt: skip)
