"""Importing course keeps Feast's MLflow header plugin unloaded, and only that plugin."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
{first}
from mlflow.tracking.request_header.registry import _request_header_provider_registry as r
print(",".join(sorted(type(p).__name__ for p in r)), "feast" in sys.modules)
"""


def _providers(first: str) -> str:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(first=first)],
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    return out.stdout.strip()


def test_a_process_that_imports_course_skips_feasts_provider() -> None:
    assert _providers("import course") == (
        "DatabricksRequestHeaderProvider,DefaultRequestHeaderProvider False"
    )


def test_without_course_mlflow_loads_it() -> None:
    """The probe can tell: a plain process does load Feast's provider (and all of Feast)."""
    assert _providers("") == (
        "DatabricksRequestHeaderProvider,DefaultRequestHeaderProvider,FeastMLflowHeaderProvider True"
    )


def test_other_entry_point_groups_are_untouched() -> None:
    import importlib.metadata as md

    import course  # noqa: F401

    scripts = md.entry_points(group="console_scripts")
    assert any(ep.value.startswith("feast.") for ep in scripts)
