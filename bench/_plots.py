"""Figures of the bench scripts, for the benchmark pages.

Each script draws its figure into `docs/benchmarks/img/` after a run, and
again from its saved JSON with `--plot-only` (no rerun), so a figure can
be redrawn or restyled without the hours a benchmark takes.
"""

import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "benchmarks" / "img"


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def load(path):
    return json.loads(pathlib.Path(path).read_text())


def threads_label(threads):
    """ "1 thread", "2 threads"; None or 0 is TensorFlow's default."""
    if not threads:
        return "default threads"
    return f"{threads} thread{'' if threads == 1 else 's'}"


def save(figure, name):
    """Save `figure` as `docs/benchmarks/img/<name>` and close it."""
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / name
    figure.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(figure)
    print(f"saved {path.relative_to(ROOT)}")
    return path


def grouped_bars(ax, categories, series, reference=None, fmt="{:.2f}x"):
    """Bars of `series` (name -> one value per category, None for none)
    side by side over `categories`, each labelled with its value, and a
    dashed line at `reference` (e.g. 1: parity)."""
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series.items()):
        positions = [
            i + (index - (len(series) - 1) / 2) * width
            for i, value in enumerate(values)
            if value is not None
        ]
        shown = [value for value in values if value is not None]
        bars = ax.bar(positions, shown, width, label=name, color=f"C{index}")
        ax.bar_label(
            bars, labels=[fmt.format(v) for v in shown], fontsize=7, padding=1
        )
    if reference is not None:
        ax.axhline(reference, color="black", lw=0.8, ls="--")
    ax.set_xticks(range(len(categories)), categories, fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if len(series) > 1:
        ax.legend(fontsize=8)
