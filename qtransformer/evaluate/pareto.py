"""Pareto fronts over (accuracy up, cost down) and their plots."""

from __future__ import annotations

from pathlib import Path


def pareto_front(points: list[dict], cost: str, score: str = "accuracy") -> list[int]:
    """Indices of the points no other point beats on both ``score`` (>=) and ``cost`` (<=)
    with at least one strict."""
    front = []
    for i, p in enumerate(points):
        dominated = any(q[score] >= p[score] and q[cost] <= p[cost]
                        and (q[score] > p[score] or q[cost] < p[cost])
                        for j, q in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return front


def plot_pareto(points: list[dict], costs: list[tuple[str, str]], path: Path,
                title: str) -> Path:
    """One panel per ``(cost key, axis label)``: every point, the front joined and ringed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(2, len(costs))
    rows = -(-len(costs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 5 * rows), squeeze=False)
    for ax in axes.ravel()[len(costs):]:
        ax.set_visible(False)
    for ax, (key, label) in zip(axes.ravel(), costs):
        usable = [p for p in points if p.get(key) is not None]
        xs = [p[key] for p in usable]
        ys = [100 * p["accuracy"] for p in usable]
        ax.scatter(xs, ys, s=28, color="tab:blue", zorder=2)
        for p, x, y in zip(usable, xs, ys):
            ax.annotate(p["name"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        front = sorted((usable[i] for i in pareto_front(usable, key)), key=lambda p: p[key])
        ax.plot([p[key] for p in front], [100 * p["accuracy"] for p in front], "-o",
                color="tab:red", mfc="none", ms=11, label="Pareto front", zorder=3)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
