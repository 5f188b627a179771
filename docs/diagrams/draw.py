"""The course's diagrams, drawn from code so that they can be fixed and regenerated, not redrawn.

    python docs/diagrams/draw.py OUT_DIR     write the PNGs to OUT_DIR
    python docs/diagrams/draw.py --embed     redraw and embed them into solutions/ (idempotent)
    python docs/diagrams/draw.py --check     exit 1 when a solution notebook is out of date

Each picture travels inside its notebook as a markdown cell attachment, so it shows in JupyterLab,
Colab and on GitHub, offline, and `course release` carries it into modules/. The output is
byte-stable: fixed sizes and dpi, matplotlib's bundled DejaVu Sans, no metadata in the PNG.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script from a clone: `course` is the checkout's
    sys.path.insert(0, str(REPO))

from course import data  # noqa: E402

DPI = 100
WIDTH = 9.6  # inches: 960 px, readable in a notebook column without scaling down much
COLORS = 48  # a palette PNG: flat diagrams need few colours, and the files stay small

# One small palette, used with the same meaning everywhere: (fill, edge).
INK = "#1f2933"
GREY = ("#f1f5f9", "#64748b")  # a process, a neutral thing
BLUE = ("#dbeafe", "#1d4ed8")  # data and stores; training weeks
ORANGE = ("#ffedd5", "#c2410c")  # validation weeks; the challenger
GREEN = ("#dcfce7", "#15803d")  # passes; the champion; the right way
RED = ("#fee2e2", "#b91c1c")  # holiday, alerts, failures, leaks

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "text.color": INK,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "hatch.linewidth": 0.8,
}


# --- drawing helpers --------------------------------------------------------------------------


def _canvas(height: float) -> tuple[Figure, Axes]:
    """A blank figure whose data units are inches, so layouts read as positions on the page."""
    fig = plt.figure(figsize=(WIDTH, height), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def _box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str = "",
    color: tuple[str, str] = GREY,
    size: float = 10,
    bold_first: bool = True,
    dashed: bool = False,
    align: str = "center",
) -> tuple[float, float, float, float]:
    """A rounded box at (x, y) lower left; its first line in bold names it, the rest describe."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=color[0],
            edgecolor=color[1],
            linewidth=1.4,
            linestyle=(0, (4, 2)) if dashed else "-",
        )
    )
    if text:
        lines = text.split("\n")
        tx = x + w / 2 if align == "center" else x + 0.12
        if bold_first and len(lines) > 1:
            step = size / 72 * 1.35
            top = y + h / 2 + step * (len(lines) - 1) / 2
            ax.text(tx, top, lines[0], ha=align, va="center", fontsize=size, weight="bold")
            ax.text(
                tx,
                top - step * (len(lines) - 1) / 2 - step / 2,
                "\n".join(lines[1:]),
                ha=align,
                va="center",
                fontsize=size - 1,
                linespacing=1.35,
            )
        else:
            weight = "bold" if bold_first else "normal"
            ax.text(tx, y + h / 2, text, ha=align, va="center", fontsize=size, weight=weight)
    return x, y, w, h


def _arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str = INK,
    label: str = "",
    dashed: bool = False,
    rad: float = 0.0,
    label_at: tuple[float, float] | None = None,
    size: float = 9,
) -> None:
    """An arrow from start to end, with an optional label beside its middle."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>,head_length=6,head_width=3.5",
            mutation_scale=1,
            color=color,
            linewidth=1.4,
            linestyle=(0, (4, 2)) if dashed else "-",
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=2,
            shrinkB=2,
        )
    )
    if label:
        lx, ly = label_at or ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.14)
        ax.text(lx, ly, label, ha="center", va="center", fontsize=size, color=color)


def _right(b: tuple[float, float, float, float]) -> tuple[float, float]:
    return b[0] + b[2], b[1] + b[3] / 2


def _left(b: tuple[float, float, float, float]) -> tuple[float, float]:
    return b[0], b[1] + b[3] / 2


def _top(b: tuple[float, float, float, float], dx: float = 0) -> tuple[float, float]:
    return b[0] + b[2] / 2 + dx, b[1] + b[3]


def _bottom(b: tuple[float, float, float, float], dx: float = 0) -> tuple[float, float]:
    return b[0] + b[2] / 2 + dx, b[1]


def _title(ax: Axes, height: float, text: str) -> None:
    ax.text(0.2, height - 0.22, text, ha="left", va="center", fontsize=12, weight="bold")


# --- the diagrams -----------------------------------------------------------------------------


def stack() -> Figure:
    """m00: where course.setup connects, and the one state dir both modes write to."""
    h = 3.9
    fig, ax = _canvas(h)
    _title(ax, h, "The local stack: one call connects, one folder keeps everything")
    nb = _box(ax, 0.2, 1.45, 1.9, 0.9, 'your notebook\ncourse.setup("m00")', BLUE)
    options = [
        ("1. MLFLOW_TRACKING_URI is set", "that server (a classroom server)", GREY),
        ("2. course stack up is running", "MLflow server on 127.0.0.1:5000", GREEN),
        ("3. neither", "embedded MLflow: no server", GREEN),
    ]
    boxes = []
    for i, (head, body, color) in enumerate(options):
        b = _box(ax, 2.75, 2.55 - i * 1.0, 2.75, 0.78, f"{head}\n{body}", color, size=9.5)
        boxes.append(b)
        _arrow(ax, _right(nb), _left(b))
    ax.text(2.45, 3.45, "first that applies", fontsize=9, ha="left", style="italic")
    state = _box(ax, 6.15, 0.4, 3.25, 2.9, "", BLUE)
    ax.text(state[0] + 0.15, 3.08, "state dir  ~/.mlops-course", fontsize=10, weight="bold")
    ax.text(state[0] + 0.15, 2.82, "(or $COURSE_HOME)", fontsize=9)
    rows = [
        ("mlflow/mlflow.db", "runs, registry"),
        ("mlflow/artifacts/", "files, models"),
        ("feast/", "feature store"),
        ("reports/", "drift reports"),
        ("inference_log/", "served requests"),
        ("progress.json", "your checks"),
    ]
    for i, (name, what) in enumerate(rows):
        y = 2.45 - i * 0.36
        ax.text(state[0] + 0.2, y, name, fontsize=9, family="DejaVu Sans Mono")
        ax.text(state[0] + 1.95, y, what, fontsize=9)
    for b in boxes[1:]:
        _arrow(ax, _right(b), (state[0], _right(b)[1]), BLUE[1])
    ax.text(state[0], 0.14, "server and embedded: the same files", fontsize=9,
            color=BLUE[1], style="italic")  # fmt: skip
    ax.text(
        0.2,
        0.55,
        "Everything binds to 127.0.0.1.\nNothing leaves your machine.",
        fontsize=9,
        va="center",
    )
    return fig


def time_split() -> Figure:
    """m01: data.split() on the week axis, with the embargo that keeps holiday labels out."""
    h = 2.7
    fig, ax = _canvas(h)
    _title(ax, h, "data.split(): train on earlier weeks, validate on the latest calm weeks")
    calm = [w for w in range(data.N_WEEKS) if w not in data.HOLIDAY_WEEKS + data.EMBARGO_WEEKS]
    valid = calm[-4:]
    left, cell, y0, ch = 0.35, (WIDTH - 0.7) / data.N_WEEKS, 1.0, 0.55
    kinds = {}
    for w in range(data.N_WEEKS):
        if w in data.HOLIDAY_WEEKS:
            kind = "holiday"
        elif w in data.EMBARGO_WEEKS:
            kind = "embargo"
        elif w in valid:
            kind = "valid"
        else:
            kind = "train"
        kinds.setdefault(kind, []).append(w)
        color = {"train": BLUE, "valid": ORANGE, "embargo": GREY, "holiday": RED}[kind]
        ax.add_patch(
            Rectangle(
                (left + w * cell + 0.02, y0),
                cell - 0.04,
                ch,
                facecolor=color[0],
                edgecolor=color[1],
                linewidth=1.2,
                hatch="///" if kind == "embargo" else None,
            )
        )
        ax.text(left + (w + 0.5) * cell, y0 - 0.17, str(w), ha="center", fontsize=8.5)
    ax.text(left, y0 - 0.42, "week", fontsize=9, style="italic")
    labels = {
        "train": ("train", BLUE),
        "valid": ("valid", ORANGE),
        "embargo": ("embargo", GREY),
        "holiday": ("holiday", RED),
    }
    for kind, weeks in kinds.items():
        name, color = labels[kind]
        a, b = left + weeks[0] * cell + 0.04, left + (weeks[-1] + 1) * cell - 0.04
        ax.plot([a, a, b, b], [y0 + ch + 0.08, y0 + ch + 0.16, y0 + ch + 0.16, y0 + ch + 0.08],
                color=color[1], linewidth=1.2)  # fmt: skip
        span = f"{weeks[0]}" if len(weeks) == 1 else f"{weeks[0]}-{weeks[-1]}"
        lift = 0.3 if len(weeks) == 1 else 0  # a one-week label sits higher, clear of the others
        ax.text((a + b) / 2, y0 + ch + 0.32 + lift, f"{name} ({span})", ha="center",
                fontsize=9.5, color=color[1], weight="bold")  # fmt: skip
    emb = data.EMBARGO_WEEKS[0]
    _arrow(
        ax,
        (left + (emb + 0.5) * cell, y0 - 0.32),
        (left + (data.HOLIDAY_WEEKS[0] + 0.5) * cell, y0 - 0.32),
        RED[1],
        rad=0.9,
    )
    ax.text(
        left + (emb + 0.1) * cell,
        0.5,
        f"week {emb}'s label is a purchase in week {emb + 1}: a holiday label on calm-looking "
        "features, so it is left out",
        ha="right",
        fontsize=9,
        color=RED[1],
    )
    ax.text(
        left + (calm[0]) * cell,
        2.1,
        f"calm weeks {calm[0]}-{calm[-1]}: time runs left to right, and nothing from a later week "
        "reaches training",
        fontsize=9,
    )
    return fig


def runs() -> Figure:
    """m02: an experiment holds runs; a run can log a model, which is an object of its own."""
    h = 3.9
    fig, ax = _canvas(h)
    _title(ax, h, "An experiment holds runs; a logged model is linked to the run that made it")
    _box(ax, 0.2, 0.25, 5.4, 3.1, "", GREY, dashed=True)
    ax.text(0.35, 3.12, "experiment (one per module)", fontsize=10, weight="bold")
    run = _box(
        ax,
        0.4,
        1.45,
        2.45,
        1.45,
        "run  baseline\nparams   model, C\nmetrics  val_roc_auc\nartifacts  features.json\ntags",
        BLUE,
        size=9.5,
        align="left",
    )
    model_run = _box(ax, 3.05, 1.45, 2.35, 1.45, "run  (any name)\nparams, metrics\n+ the model",
                     BLUE, size=9.5, align="left")  # fmt: skip
    parent = _box(ax, 0.4, 0.4, 1.4, 0.8, "parent run\nsweep", BLUE, size=9)
    nested = _box(ax, 2.3, 0.4, 3.1, 0.8, "", GREY, dashed=True)
    for i, c in enumerate(("C=0.01", "C=0.1", "C=1")):
        _box(ax, 2.4 + i * 1.0, 0.5, 0.9, 0.6, f"child {c}", BLUE, size=8.5, bold_first=False)
    _arrow(ax, _right(parent), _left(nested), BLUE[1])
    ax.text(2.05, 1.0, "nested", fontsize=8, ha="center", color=BLUE[1])
    del run
    logged = _box(
        ax,
        6.35,
        1.2,
        3.05,
        1.95,
        "LoggedModel  models:/m-…\nsignature: columns in, output\ninput example: real rows\n"
        "requirements: pinned versions\nthe fitted pipeline",
        GREEN,
        size=9.5,
        align="left",
    )
    _arrow(ax, _right(model_run), _left(logged), GREEN[1], label="log_model",
           label_at=(5.95, 2.36))  # fmt: skip
    ax.text(7.85, 0.6, "load it back by URI, as a service would:\nmlflow.pyfunc.load_model(uri)",
            fontsize=9, ha="center", va="center")  # fmt: skip
    return fig


def _registry_panel(ax: Axes, x: float, title: str, champion: int, note: bool) -> None:
    ax.text(x + 1.6, 3.35, title, ha="center", fontsize=10, weight="bold")
    versions = {}
    for i, (v, what) in enumerate(((1, "logreg"), (2, "forest"))):
        versions[v] = _box(ax, x + 0.15 + i * 1.6, 0.95, 1.3, 0.8, f"version {v}\n{what}", BLUE)
    champ = _box(ax, x + 0.15 + (champion - 1) * 1.6, 2.2, 1.3, 0.42, "@champion", GREEN)
    _arrow(ax, _bottom(champ), _top(versions[champion]), GREEN[1])
    # the challenger alias stays on version 2 throughout: a version can carry several aliases
    chal = _box(ax, x + 1.75, 2.2 if champion == 1 else 2.75, 1.3, 0.42, "@challenger", ORANGE)
    if champion == 1:
        _arrow(ax, _bottom(chal), _top(versions[2]), ORANGE[1])
    else:
        _arrow(ax, _left(chal), (x + 1.85, 1.75), ORANGE[1], rad=0.5)
    if note:
        _box(ax, x + 1.75, 0.3, 1.3, 0.42, "rollback_reason", RED, size=8.5)
        _arrow(ax, _top((x + 1.75, 0.3, 1.3, 0.42)), _bottom(versions[2]), RED[1])


def aliases() -> Figure:
    """m03: aliases move, versions stay: the promotion and the rollback are alias moves."""
    h = 4.0
    fig, ax = _canvas(h)
    _title(ax, h, "shopflow-conversion: apps load @champion; you decide which version that is")
    _registry_panel(ax, 0.1, "1. champion and challenger", 1, False)
    _registry_panel(ax, 3.25, "2. Friday 17:55: promoted", 2, False)
    _registry_panel(ax, 6.4, "3. rollback: move it back", 1, True)
    for x in (3.25, 6.4):
        ax.plot([x, x], [0.3, 3.45], color=GREY[1], linewidth=1, linestyle=(0, (2, 3)))
    ax.text(6.5, 0.12, "nothing deleted: v2 is kept for the post-mortem", fontsize=8.5,
            color=RED[1])  # fmt: skip
    ax.text(3.35, 0.5, "no retrain, no new version:\nonly the alias moved", fontsize=8.5,
            color=GREEN[1])  # fmt: skip
    return fig


def point_in_time() -> Figure:
    """m04: which snapshot each join picks for one training example, on a timeline of days."""
    h = 4.1
    fig, ax = _canvas(h)
    _title(ax, h, "Which snapshot does a training example get? Two joins on one timeline")
    day, x0 = 0.5, 4.55  # inches per day; x of day 0, the snapshot of week w (Sun 23:59:59)

    def at(d: float) -> float:
        return x0 + d * day

    y, pred, known = 2.55, 0.375, 7.375  # prediction Monday 09:00; label known 7 days later
    ax.add_patch(Rectangle((at(pred), y), 7 * day, 0.5, facecolor=ORANGE[0], edgecolor="none"))
    ax.text(at(pred + 3.5), y + 0.25, "the label: does the customer buy in these 7 days?",
            ha="center", va="center", fontsize=9, color=ORANGE[1])  # fmt: skip
    ax.plot([at(-7.9), at(8.4)], [y, y], color=INK, linewidth=1.2)
    for d, name in {-7: "snapshot w - 1", 0: "snapshot w", 7: "snapshot w + 1"}.items():
        ax.plot([at(d)], [y], marker="D", markersize=8, color=BLUE[1])
        ax.text(at(d), y + 0.68, name, ha="center", fontsize=9, color=BLUE[1])
        ax.plot([at(d), at(d)], [y + 0.1, y + 0.6], color=BLUE[1], linewidth=0.8)
    ax.text(0.2, y - 0.28, "snapshots: Sunday 23:59:59", fontsize=8.5, color=BLUE[1])
    ax.text(at(-3.5), y - 0.28, "week w", ha="center", fontsize=9, style="italic")
    ax.text(at(3.9), y - 0.28, "week w + 1", ha="center", fontsize=9, style="italic")
    for d, name, color in ((pred, "predict, Mon 09:00", GREEN), (known, "label known", RED)):
        ax.plot([at(d)], [y], marker="v", markersize=9, color=color[1])
        ax.text(at(d) + 0.08, y - 0.28, name, fontsize=8.5, color=color[1])
    lanes = (
        (1.55, pred, 0, GREEN, "point-in-time join: as of the prediction time, the latest "
         "snapshot within the TTL (7 days): snapshot w, known on Monday morning"),
        (0.7, known, 7, RED, "naive join: as of the label's time: snapshot w + 1, which already "
         "counts the purchase. The label leaks into the features"),
    )  # fmt: skip
    for ly, asof, snap, color, text in lanes:
        ax.add_patch(Rectangle((at(asof - 7), ly - 0.1), 7 * day, 0.2, facecolor=color[0],
                               edgecolor=color[1], linewidth=1))  # fmt: skip
        ax.plot([at(asof), at(asof)], [y - 0.42, ly + 0.1], color=color[1], linewidth=1,
                linestyle=(0, (2, 2)))  # fmt: skip
        _arrow(ax, (at(asof), ly), (at(snap) + 0.05, ly), color[1])
        ax.plot([at(snap)], [ly], marker="D", markersize=8, color=color[1])
        ax.text(0.2, ly - 0.3, text, fontsize=9, color=color[1], va="center")
    ax.text(at(-6.6), 1.55, "7 days back", fontsize=8.5, color=GREEN[1], va="center")
    return fig


def ci_gate() -> Figure:
    """m05: the CI jobs in order; only a passing gate on main moves the alias."""
    h = 3.5
    fig, ax = _canvas(h)
    _title(ax, h, "CI on every push: each job needs the one before; the first failure stops it")
    y, bh = 1.75, 1.05
    steps = [
        (0.2, 1.15, "push\nany branch", GREY),
        (1.75, 1.8, "data-tests\npytest test_data.py", BLUE),
        (3.95, 1.35, "train\na candidate", BLUE),
        (5.7, 1.85, "gate\npytest test_model.py\ngate vs @champion", ORANGE),
        (7.95, 1.45, "promote\nonly on main", GREEN),
    ]
    boxes = [_box(ax, x, y, w, bh, text, color, size=9.5) for x, w, text, color in steps]
    for a, b in zip(boxes, boxes[1:], strict=False):
        _arrow(ax, _right(a), _left(b))
    reg = _box(ax, 6.2, 0.2, 3.2, 0.8, "registry\n@champion  ·  tags: gate, AUCs", GREEN, size=9.5)
    _arrow(ax, _top(reg, -1.2), _bottom(boxes[3], -0.025), ORANGE[1], dashed=True)
    ax.text(6.7, 1.3, "reads @champion", fontsize=8.5, color=ORANGE[1])
    _arrow(ax, _bottom(boxes[4], 0.2), _top(reg, 1.075), GREEN[1])
    ax.text(8.95, 1.3, "moves it", fontsize=8.5, color=GREEN[1])
    ax.text(8.67, 2.98, "if: github.ref ==\n'refs/heads/main'", fontsize=8, ha="center",
            color=GREEN[1], family="DejaVu Sans Mono")  # fmt: skip
    ax.text(0.2, 0.6, "A failed test or gate: nothing after it runs,\n@champion stays where it "
            "was.", fontsize=9, color=RED[1], va="center")  # fmt: skip
    return fig


def serving() -> Figure:
    """m06: the server answers from @champion; rollback is an alias move plus a reload."""
    h = 3.9
    fig, ax = _canvas(h)
    _title(ax, h, "Serving @champion, logging every answer, rolling back by alias")
    reg = _box(ax, 3.35, 2.45, 2.7, 0.95, "registry\nshopflow-conversion @champion", GREEN)
    app = _box(ax, 0.2, 1.0, 2.1, 0.95, "ShopFlow app\nrows to score", GREY)
    srv = _box(
        ax,
        3.35,
        0.25,
        2.7,
        1.75,
        "model server  (course.serve)\nPOST /invocations\nGET /version  ·  GET /metrics\n"
        "POST /reload",
        BLUE,
        size=9.5,
    )
    log = _box(ax, 7.0, 0.6, 2.4, 1.05, "inference log\nrows, prediction,\nversion, time",
               BLUE, size=9.5)  # fmt: skip
    _arrow(ax, (_right(app)[0], 1.65), (srv[0], 1.65), label="predictions?", label_at=(2.82, 1.8))
    _arrow(ax, (srv[0], 1.2), (_right(app)[0], 1.2), label="predictions", label_at=(2.82, 1.05))
    _arrow(ax, _bottom(reg, -0.6), _top(srv, -0.6), GREEN[1], label="loads",
           label_at=(4.35, 2.22))  # fmt: skip
    _arrow(ax, _right(srv), _left(log), BLUE[1], label="every request", label_at=(6.52, 1.33))
    ax.text(8.2, 0.35, "read by module 7 (monitoring)\nand module 9 (retraining)", fontsize=8.5,
            ha="center", va="center")  # fmt: skip
    rb = _box(ax, 6.55, 2.35, 2.85, 1.05, "rollback\n1. move @champion back\n2. POST /reload",
              RED, size=9.5)  # fmt: skip
    _arrow(ax, _left(rb), _right(reg), RED[1], dashed=True)
    _arrow(ax, (rb[0] + 0.25, rb[1]), _top(srv, 0.9), RED[1], dashed=True, rad=-0.2)
    return fig


def monitoring() -> Figure:
    """m07: the weekly monitoring job, from logged traffic to a retraining trigger."""
    h = 3.9
    fig, ax = _canvas(h)
    _title(ax, h, "Monitoring, every week: compare, measure once labels arrive, decide")
    log = _box(ax, 0.2, 2.15, 2.0, 0.95, "inference log\nweek w's requests", BLUE, size=9.5)
    lab = _box(ax, 0.2, 0.75, 2.0, 0.95, "delayed labels\narrive a week later", BLUE, size=9.5)
    drift = _box(ax, 2.75, 2.15, 2.35, 0.95, "drift (Evidently)\nreference weeks vs week w",
                 ORANGE, size=9.5)  # fmt: skip
    perf = _box(ax, 2.75, 0.75, 2.35, 0.95, "performance\nROC AUC on week w - 1", ORANGE,
                size=9.5)  # fmt: skip
    thr = _box(ax, 5.6, 1.2, 1.75, 1.45, "thresholds\ndrift share\nprediction drift\nAUC floor",
               GREY, size=9.5)  # fmt: skip
    alert = _box(ax, 7.85, 2.15, 1.55, 0.8, "alert", RED, size=10)
    trig = _box(ax, 7.85, 0.85, 1.55, 0.95, "retraining\ntrigger", RED, size=10,
                bold_first=True)  # fmt: skip
    _arrow(ax, _right(log), _left(drift))
    _arrow(ax, _right(lab), _left(perf))
    _arrow(ax, (log[0] + 0.6, log[1]), (lab[0] + 0.6, lab[1] + lab[3]), label="joined by customer"
           " and week", label_at=(1.75, 1.92), size=8)  # fmt: skip
    _arrow(ax, _right(drift), (thr[0], 2.3))
    _arrow(ax, _right(perf), (thr[0], 1.5))
    _arrow(ax, (thr[0] + thr[2], 2.3), _left(alert), RED[1])
    _arrow(ax, (thr[0] + thr[2], 1.5), _left(trig), RED[1])
    ax.plot([8.62, 8.62, 0.08, 0.08], [0.85, 0.3, 0.3, 2.62], color=GREEN[1], linewidth=1.4,
            linestyle=(0, (4, 2)))  # fmt: skip
    _arrow(ax, (0.06, 2.62), _left(log), GREEN[1])
    ax.text(4.9, 0.42, "module 9 retrains; the new @champion serves and its traffic is logged",
            fontsize=8.5, ha="center", color=GREEN[1])  # fmt: skip
    return fig


def ab_flow() -> Figure:
    """m08: the order in which an experiment is read: split first, then lift, then guardrail."""
    h = 4.0
    fig, ax = _canvas(h)
    _title(ax, h, "An A/B test, read in order: is the split right, then the lift, then the rest")
    user = _box(ax, 0.2, 2.35, 1.3, 0.75, "user id", GREY)
    assign = _box(ax, 1.95, 2.2, 2.65, 1.05, "assign\nsha256(experiment:user_id)\n< share ?",
                  GREY, size=9.5)  # fmt: skip
    ctl = _box(ax, 5.1, 2.8, 1.95, 0.62, "control: champion", GREEN, size=9.5, bold_first=False)
    trt = _box(ax, 5.1, 2.0, 1.95, 0.62, "treatment: challenger", ORANGE, size=9.5,
               bold_first=False)  # fmt: skip
    log = _box(ax, 7.55, 2.2, 1.85, 1.05, "experiment log\nconverted, revenue", BLUE, size=9.5)
    _arrow(ax, _right(user), _left(assign))
    _arrow(ax, _right(assign), _left(ctl), label="no", label_at=(4.82, 3.2))
    _arrow(ax, _right(assign), _left(trt), label="yes", label_at=(4.82, 2.15))
    _arrow(ax, _right(ctl), (log[0], 2.95))
    _arrow(ax, _right(trt), (log[0], 2.5))
    srm = _box(ax, 0.2, 0.55, 2.0, 1.0, "SRM check\nchi-square p < 0.001?", ORANGE, size=9.5)
    test = _box(ax, 2.7, 0.55, 2.2, 1.0, "lift and CI\ntwo-proportion z-test", BLUE, size=9.5)
    guard = _box(ax, 5.4, 0.55, 1.75, 1.0, "guardrail\nrevenue", BLUE, size=9.5)
    dec = _box(ax, 7.65, 0.55, 1.75, 1.0, "decision\nship / don't ship\n/ keep running",
               GREEN, size=9.5)  # fmt: skip
    ax.plot([8.47, 8.47, 1.2, 1.2], [2.2, 1.85, 1.85, 1.6], color=INK, linewidth=1.4)
    _arrow(ax, (1.2, 1.7), _top(srm))
    _arrow(ax, _right(srm), _left(test), label="no", label_at=(2.45, 1.2))
    _arrow(ax, _right(test), _left(guard))
    _arrow(ax, _right(guard), _left(dec))
    ax.text(0.2, 0.28, "yes: stop, the split is broken; find the cause, fix it, restart",
            fontsize=9, color=RED[1], va="center")  # fmt: skip
    return fig


def ct_loop() -> Figure:
    """m09: one pipeline run per week, each step guarding the next, all in the audit trail."""
    h = 4.3
    fig, ax = _canvas(h)
    _title(ax, h, "run_week(w): every week, one MLflow run, the alias moves only if all agree")
    y, bh = 2.45, 1.0
    steps = [
        (0.2, 1.55, "week w\nlabels arrived", GREY),
        (2.2, 1.6, "features\nfrom Feast", BLUE),
        (4.25, 1.55, "drift check\nEvidently", ORANGE),
        (6.25, 1.3, "retrain\non the window", BLUE),
        (8.0, 1.4, "tests + gate\nlog loss vs\n@champion", ORANGE),
    ]
    top = [_box(ax, x, y, w, bh, t, c, size=9.5) for x, w, t, c in steps]
    for a, b in zip(top, top[1:], strict=False):
        _arrow(ax, _right(a), _left(b))
    ax.text(6.02, 3.12, "drift", fontsize=8.5, ha="center")
    reg = _box(ax, 7.6, 1.0, 1.8, 0.95, "register\n@challenger\n+ lineage tags", ORANGE,
               size=9.5)  # fmt: skip
    dec = _box(ax, 4.85, 1.0, 2.2, 0.95, "decide\npromote: move @champion\nor keep, with a reason",
               GREEN, size=9.5)  # fmt: skip
    _arrow(ax, _bottom(top[4]), (_bottom(top[4])[0], reg[1] + reg[3]))
    _arrow(ax, _left(reg), _right(dec))
    _arrow(ax, _bottom(top[2], -0.2), _top(dec, -0.8), label="no drift: keep",
           label_at=(4.15, 2.2), size=8.5)  # fmt: skip
    audit = _box(
        ax,
        0.2,
        0.45,
        4.1,
        1.5,
        "audit trail: one MLflow run per week\ntags week, pipeline=weekly\ndecision, reason\n"
        "data_fingerprint\nchampion_version, challenger_version",
        GREY,
        size=9.5,
        align="left",
    )
    _arrow(ax, _left(dec), _right(audit), dashed=True)
    ax.text(4.85, 0.55, "\u21bb next week: run_week(w + 1). A week that has a finished run is "
            "skipped,\n    so a retry or a re-run changes nothing.", fontsize=8.5, ha="left",
            va="center", color=GREEN[1])  # fmt: skip
    return fig


def slices() -> Figure:
    """m10: slice AUCs against the overall AUC and the flag rule's gap and minimum size."""
    h = 3.9
    fig = plt.figure(figsize=(WIDTH, h), dpi=DPI)
    ax = fig.add_axes((0.08, 0.2, 0.9, 0.66))
    overall, gap, min_n = 0.80, 0.02, 300
    rows = [  # illustrative slices: name, rows, ROC AUC
        ("A", 2400, 0.81),
        ("B", 1600, 0.80),
        ("C", 900, 0.79),
        ("D", 650, 0.74),
        ("E", 40, 0.58),
    ]
    ax.axhspan(0.5, overall - gap, color=RED[0], alpha=0.45, zorder=0, linewidth=0)
    for i, (_, n, auc) in enumerate(rows):
        small, low = n < min_n, auc < overall - gap
        color = GREY if small else RED if low else BLUE
        ax.bar(i, auc - 0.5, bottom=0.5, width=0.6, color=color[0], edgecolor=color[1],
               linewidth=1.4, hatch="///" if small else None)  # fmt: skip
        ax.text(i, auc + 0.006, f"{auc:.2f}", ha="center", va="bottom", fontsize=9)
        if small:
            ax.text(i, auc + 0.03, "too small:\nnot flagged", ha="center", va="bottom",
                    fontsize=9, color=color[1], weight="bold")  # fmt: skip
        elif low:
            ax.text(i, 0.6, "flagged", ha="center", fontsize=9, color=color[1], weight="bold")
    ax.axhline(overall, color=INK, linewidth=1.4)
    ax.axhline(overall - gap, color=RED[1], linewidth=1.2, linestyle=(0, (4, 2)))
    ax.text(4.5, overall + 0.004, f"overall AUC {overall:.2f}", fontsize=9, va="bottom")
    ax.text(4.5, overall - gap - 0.004, f"overall - max_gap ({gap})", fontsize=9, va="top",
            color=RED[1])  # fmt: skip
    ax.text(4.5, 0.62, f"flagged: below the dashed line\nand n >= min_n ({min_n}).\n"
            "A tiny slice's AUC is\nmostly noise.", fontsize=9, va="center")  # fmt: skip
    ax.text(4.5, 0.515, "illustrative numbers", fontsize=8.5, style="italic", color=GREY[1])
    ax.set_xticks(range(len(rows)), [f"slice {name}\nn={n:,}" for name, n, _ in rows])
    ax.set_xlim(-0.5, 6.3)
    ax.set_ylim(0.5, 0.86)
    ax.set_ylabel("ROC AUC")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    fig.text(0.02, 0.93, "Slices: one overall number can hide a slice where the model is worse",
             fontsize=12, weight="bold")  # fmt: skip
    return fig


# --- where each picture goes ------------------------------------------------------------------


@dataclass(frozen=True)
class Diagram:
    slug: str  # the module's folder and notebook name
    name: str  # the attachment's file name
    alt: str  # what the picture shows, for screen readers and when images are off
    anchor: str  # the markdown cell it joins: the start of that cell's text
    before: str  # the paragraph it goes above, in that cell ("" or not found: the cell's end)
    draw: Callable[[], Figure]


DIAGRAMS: tuple[Diagram, ...] = (
    Diagram("00_welcome", "m00-stack.png",
            "The notebook's course.setup connects to a tracking URI, a running course stack or "
            "embedded MLflow; the stack and embedded mode write the same state dir",
            "## 1. The local stack", "", stack),
    Diagram("01_reproducible_training", "m01-time-split.png",
            "Weeks 0 to 25: train weeks 0-16, validation weeks 17-20, embargo week 21, holiday "
            "weeks 22-25; week 21's label falls in week 22",
            "## 1. Split by time", "### Exercise 1", time_split),
    Diagram("02_experiment_tracking", "m02-runs.png",
            "An experiment holds runs with params, metrics, artifacts and tags, and a sweep's "
            "nested runs; log_model makes a LoggedModel with signature, input example and "
            "requirements, linked to its run",
            "## 2. Logging a model", "### Exercise 2", runs),
    Diagram("03_model_registry", "m03-aliases.png",
            "Three states of the registry: champion on version 1 and challenger on version 2; "
            "champion moved to version 2; rolled back to version 1, with version 2 kept and "
            "tagged rollback_reason",
            "Every app that loads `@champion`", "### Exercise 5", aliases),
    Diagram("04_feature_store", "m04-point-in-time.png",
            "A timeline: the point-in-time join takes the snapshot known at Monday 09:00, within "
            "the 7-day TTL; the naive join takes the next snapshot, which already counts the "
            "purchase",
            "## 3. The leak: a naive join", "### Exercise 4", point_in_time),
    Diagram("05_testing_cicd", "m05-ci-gate.png",
            "CI jobs in order: push, data-tests, train, gate against the champion, and promote "
            "only on main, which moves @champion; a failure stops the run",
            "## 4. The CI workflow", "### Exercise 4", ci_gate),
    Diagram("06_deployment_serving", "m06-serving.png",
            "The app asks the model server, which loads @champion from the registry and writes "
            "every request to the inference log; rollback moves the alias back and reloads",
            "## 2. Serving over REST", "", serving),
    Diagram("07_monitoring_drift", "m07-monitoring-loop.png",
            "The inference log and the labels that arrive a week later feed drift and "
            "performance checks; thresholds raise an alert and a retraining trigger, and module "
            "9 retrains",
            "## 1. Reference and current windows", "ShopFlow's scenario has a known answer",
            monitoring),
    Diagram("08_ab_testing", "m08-ab-flow.png",
            "Users are assigned by a hash to control or treatment; the experiment log goes "
            "through the SRM check, then the two-proportion test, the revenue guardrail and a "
            "decision",
            "Each log has one row per user", "## 1. Assignment", ab_flow),
    Diagram("09_continuous_training", "m09-ct-loop.png",
            "The weekly pipeline: features from Feast, drift check, retrain, tests and gate, "
            "register @challenger, decide to promote or keep; each week is one MLflow run in the "
            "audit trail",
            "# Module 9 of 10", "**You will**", ct_loop),
    Diagram("10_responsible_ml", "m10-slices.png",
            "Bars of ROC AUC per slice against the overall AUC and a dashed line max_gap below "
            "it: a large slice below the line is flagged, a tiny one is not",
            "## 4. A rule that flags a slice", "### Exercise 3", slices),
)  # fmt: skip


# --- rendering and embedding ------------------------------------------------------------------


def render(diagram: Diagram) -> bytes:
    """The PNG bytes of one diagram: same code and libraries, same bytes."""
    defaults = {k: v for k, v in matplotlib.rcParamsDefault.items() if k != "backend"}
    with matplotlib.rc_context({**defaults, **_RC}):  # the caller's style changes nothing
        fig = diagram.draw()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
        plt.close(fig)
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    small = image.quantize(colors=COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def notebook_path(root: Path, slug: str) -> Path:
    return root / "solutions" / slug / f"{slug}.ipynb"


def _link(diagram: Diagram) -> str:
    return f"![{diagram.alt}](attachment:{diagram.name})"


def place(nb: dict, diagram: Diagram, png: bytes) -> None:
    """Put the picture in its cell, or refresh it where it already is (it is never moved)."""
    encoded = base64.b64encode(png).decode("ascii")
    pattern = re.compile(r"!\[[^\]]*\]\(attachment:" + re.escape(diagram.name) + r"\)")
    for cell in nb["cells"]:
        if diagram.name in cell.get("attachments", {}):
            cell["attachments"][diagram.name] = {"image/png": encoded}
            source = _source(cell)
            if pattern.search(source):
                cell["source"] = pattern.sub(lambda _: _link(diagram), source)
            else:
                cell["source"] = source.rstrip("\n") + "\n\n" + _link(diagram)
            return
    cell = next(
        (
            c
            for c in nb["cells"]
            if c["cell_type"] == "markdown" and _source(c).startswith(diagram.anchor)
        ),
        None,
    )
    if cell is None:
        raise SystemExit(f"{diagram.slug}: no markdown cell starts with {diagram.anchor!r}")
    source = _source(cell)
    at = source.find("\n\n" + diagram.before) if diagram.before else -1
    if at < 0:
        cell["source"] = source.rstrip("\n") + "\n\n" + _link(diagram)
    else:
        cell["source"] = source[:at] + "\n\n" + _link(diagram) + source[at:]
    cell["attachments"] = {**cell.get("attachments", {}), diagram.name: {"image/png": encoded}}


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def embed(root: Path, pngs: dict[str, bytes], write: bool = True) -> list[Path]:
    """Embed every diagram into its solution notebook; returns the notebooks that changed."""
    changed = []
    for slug in dict.fromkeys(d.slug for d in DIAGRAMS):
        path = notebook_path(root, slug)
        text = path.read_text(encoding="utf-8")  # read, change, write back in one step
        nb = json.loads(text)
        for diagram in DIAGRAMS:
            if diagram.slug == slug:
                place(nb, diagram, pngs[diagram.name])
        new = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        if new != text:
            changed.append(path)
            if write:
                path.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="write the PNGs to this folder")
    parser.add_argument("--embed", action="store_true", help="embed them into solutions/")
    parser.add_argument("--check", action="store_true", help="fail if solutions/ is out of date")
    args = parser.parse_args(argv)
    if not (args.out or args.embed or args.check):
        parser.error("give an output folder, --embed or --check")
    pngs = {d.name: render(d) for d in DIAGRAMS}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, png in pngs.items():
            (args.out / name).write_bytes(png)
            print(f"{args.out / name}  {len(png) // 1024} KB")
    if args.embed or args.check:
        changed = embed(REPO, pngs, write=args.embed)
        for path in changed:
            verb = "updated" if args.embed else "out of date"
            print(f"{path.relative_to(REPO)}: {verb}")
        if args.check and changed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
