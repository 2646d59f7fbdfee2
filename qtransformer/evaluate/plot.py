"""One picture per build: training curves and the test confusion matrix, the verdict on top.

Written next to report.md (``report.png``) and linked from it, so a user sees at a glance
whether training converged, which classes are confused, and whether the design fits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PLOT_NAME = "report.png"


def verdict_title(r: dict) -> str:
    """The run, its test accuracy / macro-F1 and the board verdict, in one line."""
    v = r.get("hardware_estimate")
    board = r["board"]["name"]
    fit = "no hardware verdict (float model)" if not v else \
        f"{'FITS' if v['fits'] else 'DOES NOT FIT'} {board} (estimate)"
    return (f"{r['run']}: test accuracy {100 * r['accuracy']:.2f}%, macro-F1 "
            f"{100 * r['f1']:.2f}%; {fit}")


def write_plot(r: dict, out_dir: Path) -> Path:
    """Draw ``r`` (the report dict) into ``out_dir / report.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc, ax_cm) = plt.subplots(1, 3, figsize=(16, 4.8))
    _curves(ax_loss, r["training"].get("history", {}), "loss")
    _curves(ax_acc, r["training"].get("history", {}), "accuracy")
    _confusion(fig, ax_cm, np.asarray(r["test"]["confusion_matrix"]),
               r["data"]["class_names"])
    fig.suptitle(verdict_title(r))
    fig.tight_layout()
    path = out_dir / PLOT_NAME
    fig.savefig(path, dpi=100, bbox_inches="tight")   # rotated class names stay inside
    plt.close(fig)
    return path


def _curves(ax, history: dict, metric: str) -> None:
    for key, style in ((metric, "-"), (f"val_{metric}", "--")):
        if history.get(key):
            ys = history[key]
            ax.plot(range(1, len(ys) + 1), ys, style, marker=".", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"training {metric}")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()


def _confusion(fig, ax, cm: np.ndarray, names: list[str]) -> None:
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ticks = range(len(names))
    shown = [n if len(n) <= 12 else n[:11] + "." for n in names]
    ax.set_xticks(ticks, shown, rotation=45 if len(names) > 4 else 0, ha="right")
    ax.set_yticks(ticks, shown)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("test confusion matrix")
    if len(names) <= 12:
        for (i, j), n in np.ndenumerate(cm):
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if n > cm.max() / 2 else "black")
