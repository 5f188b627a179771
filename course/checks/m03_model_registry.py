"""Checks for m03 Model registry and governance: they read the MLflow registry itself."""

from __future__ import annotations

from typing import Any

from .. import data
from .._errors import CheckError, NotAttempted
from .._names import experiment_name
from . import _data_version, _markdown, _mlflow, _values
from ._expect import a_function, attempted, close, expect
from ._registry import Question, exercise, question

AUDIT_TAGS = ("data_fingerprint", "data_version", "code_version", "val_roc_auc", "owner")
CARD_SECTIONS = ("intended use", "data", "metrics", "limitations", "owner")
_ROLLBACK_REASON = "course check: scratch rollback"
FIRST = "exercise 1"


def _kind(mv: Any) -> str:
    """Which candidate a version was trained as: the `model` param of its source run."""
    expect(
        mv.run_id,
        f"version {mv.version} has no source run: register the logged model's URI "
        "(e.g. logreg_info.model_uri), not a file path",
    )
    run = _mlflow.get_run(mv.run_id, f"version {mv.version}'s run")
    _mlflow.in_module_experiment(run, "m03")
    return run.data.params.get("model", "?")


def _this_module_kind(mv: Any) -> str:
    """The kind of a version this module trained; "" for versions of other modules (the
    registry holds the whole course's versions: module 5's candidates, module 6's pyfunc)."""
    if not mv.run_id:
        return ""
    run = _mlflow.client().get_run(mv.run_id)
    exp = _mlflow.client().get_experiment(run.info.experiment_id)
    return run.data.params.get("model", "?") if exp.name == experiment_name("m03") else ""


@exercise(
    "m03.ex1",
    "Register a version from a run",
    hints=(
        "Registering turns a logged model into a numbered version of a named model.",
        "`mlflow.register_model(model_uri, name)` returns a ModelVersion.",
        "Pass the logged model's URI (`logreg_info.model_uri`) and the name `MODEL`; keep what "
        "it returns in `v1`.",
    ),
)
def register(model_name: Any, version: Any) -> str:
    attempted(version, "v1")
    name = _mlflow.model_name(model_name)
    mv = _mlflow.model_version(name, version)
    expect(mv.status == "READY", f"version {mv.version} is {mv.status}, not READY")
    kind = _kind(mv)
    expect(
        kind == "logreg",
        f"version {mv.version} comes from the {kind!r} run; register the logistic regression "
        "(logreg_info)",
    )
    return f"{name} v{mv.version} comes from run {mv.run_id[:8]} (logreg)"


@exercise(
    "m03.ex2",
    "Tags and a description that make a version auditable",
    hints=(
        "The values are already on the version's source run: `client.get_run(v1.run_id)` has "
        "them in `.data.params` and `.data.metrics`.",
        "`client.set_model_version_tag(MODEL, v1.version, key, value)` once per tag; tags on "
        "the registered model itself do not count.",
        "`client.update_model_version(MODEL, v1.version, description='...')` sets the description.",
    ),
)
def audit(model_name: Any, version: Any) -> str:
    name = _mlflow.model_name(model_name, FIRST)
    mv = _mlflow.model_version(name, version)
    if not any(t in mv.tags for t in AUDIT_TAGS) and not mv.description:
        raise NotAttempted(f"version {mv.version} has no tags and no description yet")
    missing = [t for t in AUDIT_TAGS if not str(mv.tags.get(t, "")).strip()]
    if missing:
        on_model = [t for t in missing if t in _mlflow.client().get_registered_model(name).tags]
        where = " (they are on the registered model; put them on the version)" if on_model else ""
        raise CheckError(f"version {mv.version} lacks tag(s) {', '.join(missing)}{where}")
    run = _mlflow.get_run(mv.run_id, f"version {mv.version}'s run")
    for key in ("data_fingerprint", "data_version", "code_version"):
        logged = run.data.params.get(key)
        expect(
            mv.tags[key] == logged,
            f"tag {key}={mv.tags[key]!r} differs from the source run's {key}={logged!r}: "
            "the lineage version -> run is broken",
        )
    md5 = _data_version.training(mv.tags["data_version"], "tag data_version")
    raw = mv.tags["val_roc_auc"]
    tagged_auc = _values.as_float(raw, f"tag val_roc_auc={raw!r} is not a number")
    run_auc = _mlflow.metric(run, "val_roc_auc")
    expect(
        close(tagged_auc, run_auc, 1e-4),
        f"tag val_roc_auc={tagged_auc:.4f} is not the source run's val_roc_auc",
    )
    description = (mv.description or "").strip()
    expect(
        len(description) >= 30,
        f"the version's description has {len(description)} characters; write at least 30",
    )
    return f"v{mv.version} traces to run {mv.run_id[:8]} and DVC data version {md5[:12]}…"


@exercise(
    "m03.ex3",
    "Champion and challenger aliases",
    hints=(
        "An alias is a name for one version; apps load `models:/<name>@<alias>`.",
        "`client.set_registered_model_alias(MODEL, 'champion', v1.version)`, and the same for "
        "the challenger with v2.",
        "Register the forest first, as you did the logistic regression, and keep it in `v2`. "
        "Do not call transition_model_version_stage: stages are deprecated.",
    ),
)
def aliases(model_name: Any) -> str:
    name = _mlflow.model_name(model_name, FIRST)
    if not _mlflow.client().get_registered_model(name).aliases:
        raise NotAttempted(f"{name!r} has no aliases yet")
    champion = _mlflow.alias_version(name, "champion")
    challenger = _mlflow.alias_version(name, "challenger")
    kinds = {"champion": _kind(champion), "challenger": _kind(challenger)}
    expect(
        kinds != {"champion": "forest", "challenger": "logreg"},
        "the aliases are swapped: the champion is the model serving now (the logistic "
        "regression), the challenger the forest that wants its place",
    )
    expect(kinds["champion"] == "logreg", f"@champion is the {kinds['champion']!r} version")
    expect(kinds["challenger"] == "forest", f"@challenger is the {kinds['challenger']!r} version")
    staged = [mv for mv in _mlflow.versions(name) if mv.current_stage not in (None, "None")]
    expect(
        not staged,
        f"version {staged[0].version if staged else ''} is in stage "
        f"{staged[0].current_stage if staged else ''!r}: stages are deprecated; use aliases only",
    )
    return (
        f"@champion -> v{champion.version} (logreg), @challenger -> v{challenger.version} (forest)"
    )


def _auc(model: Any, holdout: Any) -> float:
    from sklearn.metrics import roc_auc_score

    columns = list(data.NUMERIC_FEATURES)
    return float(roc_auc_score(holdout[data.TARGET], model.predict_proba(holdout[columns])[:, 1]))


def _called(fn: Any, name: str, *args: Any) -> dict[str, float]:
    result = fn(*args)
    ok = isinstance(result, dict) and {"champion", "challenger"} <= set(result)
    expect(ok, f"{name} should return {{'champion': auc, 'challenger': auc}}, not {result!r:.80}")
    wrong = f"{name}'s values should be numbers (ROC AUC), not {result!r:.80}"
    return {k: _values.as_float(result[k], wrong) for k in ("champion", "challenger")}


@exercise(
    "m03.ex4",
    "Compare champion and challenger on a holdout",
    hints=(
        "Load each model the way production will: by alias, from the model name you are given.",
        "`mlflow.sklearn.load_model(f'models:/{model_name}@champion')`, then the same for the "
        "challenger; score `holdout`, not the global `valid`.",
        "`roc_auc_score(holdout[data.TARGET], model.predict_proba(holdout[FEATURES])[:, 1])` for "
        "each alias, returned in a dict.",
    ),
)
def compare(compare: Any, model_name: Any) -> str:
    fn = a_function(compare, "compare")
    name = _mlflow.model_name(model_name, FIRST)
    need = " (exercise 3 sets it)"
    champion = _mlflow.alias_version(name, "champion", need)
    challenger = _mlflow.alias_version(name, "challenger", need)
    import mlflow

    models = {
        "champion": mlflow.sklearn.load_model(champion.source),
        "challenger": mlflow.sklearn.load_model(challenger.source),
    }
    _, valid = data.split()
    holdouts = {"the validation weeks": valid, "the mobile rows": valid[valid.device == "mobile"]}
    for label, holdout in holdouts.items():
        got = _called(fn, "compare", name, holdout.copy())
        for alias, model in models.items():
            expect(
                close(got[alias], _auc(model, holdout), 1e-6),
                f"on {label}, compare's {alias} AUC ({got[alias]:.4f}) is not the ROC AUC of "
                f"@{alias} on those rows; score the holdout you are given, with predict_proba",
            )
    # A second registered model whose aliases point elsewhere: only loading by alias passes.
    sources = [champion.source, challenger.source, champion.source]
    with _mlflow.scratch_model(sources, {"champion": 2, "challenger": 3}) as scratch:
        got = _called(fn, "compare", scratch, valid.copy())
    swapped = {"champion": models["challenger"], "challenger": models["champion"]}
    for alias, model in swapped.items():
        expect(
            close(got[alias], _auc(model, valid), 1e-6),
            f"on a model whose @{alias} is another version, compare returns the wrong {alias} "
            "AUC: load `models:/<model_name>@<alias>`, not a fixed version or MODEL",
        )
    return "compare loads both aliases of any model and scores the holdout it is given"


@exercise(
    "m03.ex5",
    "Roll back by moving the champion alias",
    hints=(
        "A rollback moves an alias; it neither retrains nor deletes.",
        "`client.get_model_version_by_alias(model_name, 'champion')` is the version you leave: "
        "tag it with `client.set_model_version_tag(..., 'rollback_reason', reason)`.",
        "Then `client.set_registered_model_alias(model_name, 'champion', to_version)`, and call "
        "`rollback(MODEL, v1.version, 'why')`.",
    ),
)
def rollback(rollback: Any, model_name: Any) -> str:
    fn = a_function(rollback, "rollback")
    name = _mlflow.model_name(model_name, FIRST)
    source = _mlflow.versions(name)[0].source
    client = _mlflow.client()
    with _mlflow.scratch_model([source] * 3, {"champion": 3, "challenger": 2}) as scratch:
        fn(scratch, "1", _ROLLBACK_REASON)
        left = {int(mv.version): mv for mv in _mlflow.versions(scratch)}
        expect(len(left) == 3, "rollback deleted a version: keep it for the post-mortem")
        now = client.get_registered_model(scratch).aliases
        expect(
            str(now.get("champion")) == "1",
            f"after rollback(name, '1', reason) @champion is {now.get('champion')}, not version 1",
        )
        expect(str(now.get("challenger")) == "2", "rollback moved or removed another alias")
        reason = left[3].tags.get("rollback_reason")
        expect(
            reason == _ROLLBACK_REASON,
            "the version rolled back from has no rollback_reason tag with the reason given"
            if reason is None
            else f"rollback_reason on the version rolled back from is {reason!r}, not the reason",
        )
        expect(
            "rollback_reason" not in left[1].tags,
            "rollback tagged the version it went back to; tag the one it leaves",
        )
    champion = _mlflow.alias_version(name, "champion")
    expect(
        _kind(champion) == "logreg",
        f"in {name!r} @champion is still the {_kind(champion)!r} version: roll back to v1",
    )
    forests = [mv for mv in _mlflow.versions(name) if _this_module_kind(mv) == "forest"]
    expect(forests, f"{name!r} has no forest version any more: a rollback keeps it")
    expect(
        any(mv.tags.get("rollback_reason") for mv in forests),
        "the forest version carries no rollback_reason: call your rollback on MODEL",
    )
    return f"@champion is back on v{champion.version}; the forest stays, tagged with the reason"


@exercise(
    "m03.ex6",
    "A model card next to the champion",
    hints=(
        "The card belongs to the run that made the champion version: its `run_id`.",
        "Write the card as an f-string with `## Intended use`, `## Data`, `## Metrics`, "
        "`## Limitations` and `## Owner`, filled from the champion's tags.",
        "`champion = client.get_model_version_by_alias(MODEL, 'champion')`, then "
        "`client.log_text(champion.run_id, card, 'model_card.md')`.",
    ),
)
def model_card(model_name: Any) -> str:
    name = _mlflow.model_name(model_name, FIRST)
    champion = _mlflow.alias_version(name, "champion")
    if "model_card.md" not in _mlflow.artifact_paths(champion.run_id):
        elsewhere = [
            mv.version
            for mv in _mlflow.versions(name)
            if mv.run_id and "model_card.md" in _mlflow.artifact_paths(mv.run_id)
        ]
        if not elsewhere:
            raise NotAttempted(f"no run of {name!r} has a model_card.md yet")
        raise CheckError(
            f"the champion's run ({champion.run_id[:8]}, v{champion.version}) has no "
            f"model_card.md; it is on version {elsewhere[0]}'s run"
        )
    from mlflow.artifacts import load_text

    sections = _markdown.sections(load_text(f"runs:/{champion.run_id}/model_card.md"))
    missing = [s for s in CARD_SECTIONS if s not in sections]
    expect(not missing, f"the card lacks section(s) {', '.join('## ' + s for s in missing)}")
    empty = [s for s in CARD_SECTIONS if not sections[s]]
    expect(not empty, f"section(s) {', '.join(empty)} of the card are empty")
    tags = champion.tags
    for tag in ("data_fingerprint", "val_roc_auc", "owner"):
        expect(tag in tags, f"the champion has no {tag!r} tag to report (exercise 2 sets them)")
    expect(
        tags["data_fingerprint"] in sections["data"],
        "the Data section does not name the champion's data_fingerprint",
    )
    expect(
        f"{float(tags['val_roc_auc']):.3f}" in sections["metrics"],
        "the Metrics section does not give the champion's val_roc_auc to 3 decimals",
    )
    expect(tags["owner"] in sections["owner"], "the Owner section does not name the owner tag")
    return f"v{champion.version}'s run carries a model card with all {len(CARD_SECTIONS)} sections"


question(
    Question(
        "m03.q1",
        "choice",
        "904c5d3f292c5fca291d",
        "Why aliases rather than stages",
        ("a", "b", "c"),
    )
)
question(
    Question("m03.q2", "choice", "02f7da7b523865d43b57", "What a rollback does", ("a", "b", "c"))
)
question(
    Question(
        "m03.q3",
        "choice",
        "797ab438c23b87db4aeb",
        "From a prediction back to its data",
        ("a", "b", "c"),
    )
)
question(Question("m03.q4", "number", "5c02c0f6a0887d1536a0", "Challenger minus champion AUC", tolerance=0.002,
                  hint="run your compare on the validation weeks; a worse challenger gives a negative number"))  # fmt: skip
