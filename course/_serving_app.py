"""The course's model server: MLflow's scoring protocol, plus reload, version and metrics.

`mlflow models serve` loads a model once and never looks at the registry again; a rollback then
needs a restart. This small FastAPI app serves ``models:/<name>@<alias>``, re-resolves the alias
on ``POST /reload`` and says which version answers (``GET /version``), so a learner can watch a
rollback take effect. With ``--log-dir`` it writes every request and its predictions to the
inference log (``course._inference_log``) that monitoring and retraining read. Run it with
``python -m course._serving_app MODEL_URI --port N``; the notebook side is ``course.serve``.
"""

import argparse
import contextlib
import re
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)$")
_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")


class _Model:
    """The loaded pyfunc and the registry version behind it; swapped whole on reload."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.lock = threading.Lock()
        self.load()

    def load(self) -> None:
        import mlflow
        from mlflow import MlflowClient

        name = version = None
        if m := _ALIAS.match(self.uri):
            name = m["name"]
            version = str(MlflowClient().get_model_version_by_alias(name, m["alias"]).version)
        elif m := _VERSION.match(self.uri):
            name, version = m["name"], m["version"]
        target = f"models:/{name}/{version}" if name else self.uri
        model = mlflow.pyfunc.load_model(target)
        with self.lock:
            self.pyfunc, self.name, self.version = model, name, version

    def describe(self) -> dict[str, Any]:
        return {"model_uri": self.uri, "name": self.name, "version": self.version}


class _LogWriter:
    """Buffers answered requests and writes them in the background, off the request's path:
    a parquet write per request would add milliseconds to every latency users measure."""

    def __init__(self, folder: Path | None) -> None:
        self.folder, self.pending, self.lock = folder, [], threading.Lock()
        self.flush_lock = threading.Lock()  # one writer at a time: the loop, /flush, the stop
        self.errors = 0
        self.stopped = threading.Event()
        if folder is not None:
            threading.Thread(target=self._loop, daemon=True).start()

    def add(self, frame: Any, predictions: Any, name: Any, version: Any) -> None:
        if self.folder is not None:
            with self.lock:
                self.pending.append((frame, predictions, name, version))

    def _loop(self) -> None:
        while not self.stopped.wait(0.5):
            with self.flush_lock:
                self.flush()

    def flush(self) -> int:
        """Write what is pending now; returns the rows written."""
        import pandas as pd

        from . import _inference_log

        with self.lock:
            batch, self.pending = self.pending, []
        written = 0
        groups: dict[tuple[str, str], list[Any]] = {}
        for frame, predictions, name, version in batch:
            groups.setdefault((str(name), str(version)), []).append((frame, predictions))
        for (name, version), items in groups.items():
            try:
                frames = pd.concat([f for f, _ in items], ignore_index=True)
                scores = [p for _, ps in items for p in ps]
                _inference_log.append(self.folder, frames, scores, name, version)
                written += len(frames)
            except Exception:  # logging must never take the server down: count it instead
                self.errors += 1
        return written


def _frame(body: Any) -> Any:
    import pandas as pd

    if not isinstance(body, dict):
        raise ValueError("the body should be a JSON object")
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return pd.DataFrame(split.get("data", []), columns=split.get("columns"))
    if "dataframe_records" in body:
        return pd.DataFrame(body["dataframe_records"])
    if "inputs" in body:
        return pd.DataFrame(body["inputs"])
    raise ValueError("send {'dataframe_split': ...} or {'dataframe_records': [...]}")


def _as_list(predictions: Any) -> list:
    if hasattr(predictions, "to_numpy"):
        predictions = predictions.to_numpy()
    if hasattr(predictions, "tolist"):
        predictions = predictions.tolist()
    return list(predictions)


def create_app(model_uri: str, log_dir: Path | None = None) -> FastAPI:
    writer = _LogWriter(log_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        writer.stopped.set()
        with writer.flush_lock:
            writer.flush()  # a graceful stop (SIGTERM) keeps every answered request

    app = FastAPI(title="ShopFlow model server", docs_url=None, redoc_url=None, lifespan=lifespan)
    model = _Model(model_uri)
    counts = {"requests": 0, "rows": 0, "errors": 0}
    durations: list[float] = []

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version")
    def version() -> dict[str, Any]:
        return model.describe()

    @app.post("/reload")
    def reload() -> dict[str, Any]:
        model.load()
        return model.describe()

    @app.post("/flush")
    def flush() -> dict[str, int]:
        """Write the inference log now: a client that must read it next (a test, a stop)."""
        with writer.flush_lock:
            return {"written": writer.flush()}

    @app.post("/invocations")
    async def invocations(request: Request) -> Any:
        began = time.perf_counter()
        counts["requests"] += 1
        try:
            frame = _frame(await request.json())
            with model.lock:
                pyfunc, name, served = model.pyfunc, model.name, model.version
            predictions = _as_list(pyfunc.predict(frame))
        except Exception as exc:  # a bad payload or a model error: say which, never a 500 page
            counts["errors"] += 1
            message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            return JSONResponse({"error_code": "BAD_REQUEST", "message": message}, 400)
        counts["rows"] += len(frame)
        durations.append(time.perf_counter() - began)
        writer.add(frame, predictions, name, served)
        return {"predictions": predictions}

    @app.get("/metrics")
    def metrics() -> Any:
        """Prometheus text format: what a scraper (and a check) reads."""
        ordered = sorted(durations)
        lines = [
            "# TYPE serving_requests_total counter",
            f"serving_requests_total {counts['requests']}",
            "# TYPE serving_rows_total counter",
            f"serving_rows_total {counts['rows']}",
            "# TYPE serving_errors_total counter",
            f"serving_errors_total {counts['errors']}",
            "# TYPE serving_latency_seconds summary",
        ]
        for q in (0.5, 0.95):
            value = ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0
            lines.append(f'serving_latency_seconds{{quantile="{q}"}} {value:.6f}')
        lines.append(f'serving_model_version{{name="{model.name}"}} {model.version or 0}')
        lines += [
            "# TYPE serving_log_errors_total counter",
            f"serving_log_errors_total {writer.errors}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_uri")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, help="write every request to this inference log")
    args = parser.parse_args()
    from ._quiet import silence_libraries

    silence_libraries()
    import uvicorn

    app = create_app(args.model_uri, args.log_dir)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
