"""Links into the MLflow UI that open an experiment's training runs.

MLflow 3.17 prints "View experiment at: .../#/experiments/<id>" after every run on a server; in
its UI that address opens the GenAI overview (traces, an assistant, "Detect Issues") with no run
in sight. The course's links open the runs table of the model-training workflow instead.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys

WORKFLOW = "workflowType=machine_learning"  # the UI's "Model training" view, not "GenAI"

# An experiment or run address as MLflow prints it, with an optional ?workspace=... query.
_LINK = re.compile(
    r"(?P<exp>\S+/#/experiments/[^/?\s]+)(?P<run>/runs(?:/[^?\s]+)?)?(?:\?(?P<q>\S*))?"
)


def experiment_url(ui_url: str, experiment_id: str) -> str:
    """The experiment's training-runs table."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{WORKFLOW}"


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{WORKFLOW}"


def _runs_view(match: re.Match[str]) -> str:
    params = [p for p in (match["q"] or "").split("&") if p and not p.startswith("workflowType=")]
    query = "&".join([*params, WORKFLOW])
    return f"{match['exp']}{match['run'] or '/runs'}?{query}"


def rewrite(text: str) -> str:
    """MLflow's printed links, pointed at the runs view (run links keep their run)."""
    return _LINK.sub(_runs_view, text)


def install() -> None:
    """Make MLflow's end-of-run links open the runs view. Idempotent.

    MLflow offers no setting for the address it prints, so its printer's output is rewritten;
    when and whether it prints (servers only, MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT) stays
    MLflow's decision.
    """
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    original = TrackingServiceClient._log_url
    if getattr(original, "_course_runs_view", False):
        return

    def _log_url(self, run_id):  # type: ignore[no-untyped-def]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            original(self, run_id)
        sys.stdout.write(rewrite(buffer.getvalue()))

    _log_url._course_runs_view = True  # type: ignore[attr-defined]
    TrackingServiceClient._log_url = _log_url
