"""The module map: one row per module, the single place that names them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._errors import CourseError


@dataclass(frozen=True)
class Module:
    id: str  # "m02"
    slug: str  # "02_experiment_tracking": folder and notebook name in solutions/ and modules/
    title: str
    level: str
    minutes: int
    tools: str
    ready: bool  # False: planned, not yet in solutions/


MODULES: tuple[Module, ...] = (
    Module("m00", "00_welcome", "Welcome and the local stack", "Beginner", 35, "MLflow", True),
    Module("m01", "01_reproducible_training", "Reproducible training", "Beginner", 90, "scikit-learn, DVC", True),
    Module("m02", "02_experiment_tracking", "Experiment tracking with MLflow", "Beginner", 75, "MLflow", True),
    Module("m03", "03_model_registry", "Model registry and governance", "Intermediate", 95, "MLflow", True),
    Module("m04", "04_feature_store", "Feature store with Feast", "Intermediate", 100, "Feast", True),
    Module("m05", "05_testing_cicd", "Testing and CI/CD for ML", "Intermediate", 120, "pytest, GitHub Actions", True),
    Module("m06", "06_deployment_serving", "Deployment and serving", "Intermediate", 105, "MLflow serving, Prometheus", True),
    Module("m07", "07_monitoring_drift", "Monitoring and drift detection", "Intermediate", 140, "Evidently, Prometheus", True),
    Module("m08", "08_ab_testing", "A/B testing", "Intermediate", 120, "SciPy, statsmodels", True),
    Module("m09", "09_continuous_training", "Continuous training: closing the loop", "Advanced", 130, "all", True),
    Module("m10", "10_responsible_ml", "Responsible ML and what comes next", "Advanced", 150, "scikit-learn, MLflow, fairlearn", True),
)  # fmt: skip
N_MODULES = len(MODULES)


def get(module: str) -> Module:
    """Find a module by id ("m02"), number ("2", "02") or slug ("02_experiment_tracking")."""
    key = module.strip().lower()
    m = re.fullmatch(r"m?(\d{1,2})(_.*)?", key)
    if m:
        key = f"m{int(m.group(1)):02d}"
    for mod in MODULES:
        if key in (mod.id, mod.slug):
            return mod
    known = ", ".join(mod.id for mod in MODULES)
    raise CourseError(f"unknown module {module!r}; the modules are {known}")
