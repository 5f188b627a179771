"""Leave unloaded the one MLflow plugin the course never needs.

Feast registers an MLflow request-header plugin; MLflow loads it on a process's first HTTP call
to a tracking server, and loading it imports all of Feast (8-16 s). The course never sends
Feast's header, so every process that imports ``course`` (a notebook's kernel, the model server,
the scripts of module 5's CI workflow) skips it. Other plugins are untouched.
"""

from __future__ import annotations

import importlib.metadata as _metadata
from typing import Any

_GROUP = "mlflow.request_header_provider"
_original = _metadata.entry_points


def _entry_points(**params: Any) -> Any:
    found = _original(**params)
    if params.get("group") == _GROUP:
        return _metadata.EntryPoints(ep for ep in found if not ep.value.startswith("feast."))
    return found


def skip_feast_header_provider() -> None:
    """Filter Feast's entry out of the group MLflow reads (idempotent, cheap, no MLflow import)."""
    _metadata.entry_points = _entry_points
