"""Cost of one reservoir step: the recurrent product, one way or another.

Runs `x_t = x_{t-1} + a (tanh(d_t + x_{t-1} W) - x_{t-1})` for `--steps`
steps at batch 1 (one series, as `ESN.fit` and `predict` run it), with `W`
drawn as `toolkit.layers.Reservoir` draws it (10 % connectivity), and
reports milliseconds per step, in rounds that alternate the formulations:

- scipy-csr:   a NumPy loop with SciPy's CSR product (ReservoirPy's kind
               of loop), float32;
- xla-dense:   `x @ W` inside an XLA while loop;
- xla-sum:     the gathered column layout (`sparse_columns`) summed with
               a reduction, the ESN's product before this benchmark;
- xla-gather:  `Reservoir.step` with that layout, as the ESN runs it
               (gathered products summed by a product with a vector of
               ones, which XLA fuses into one vectorised loop).

Every XLA variant is checked against the NumPy loop. One thread (the
machine is shared): read the ratios within a run, not absolute times.

Run: python bench/esn_step.py --units 500 2000
     python bench/esn_step.py --plot-only   # redraw the figure from JSON

The figure goes to docs/benchmarks/img/esn_step.png.
"""

import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--output", default=str(ROOT / "bench" / "results" / "esn_step.json")
    )
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the figure from --output, measure nothing",
    )
    return parser.parse_args()


ARGS = parse_args()
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(ARGS.threads)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _threads import pin_threads  # noqa: E402

pin_threads(ARGS.threads)

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from toolkit.layers import Reservoir  # noqa: E402
from toolkit.layers.reservoir.reservoir import sparse_columns  # noqa: E402

LEAK = 0.3


def xla_loop(update, units, steps):
    """A compiled loop of `steps` calls `state = update(d_t, state, *c)`."""

    def run(drive, *consts):
        def body(t, state, states):
            state = update(drive[t], state, *consts)
            states = ops.slice_update(states, (t, 0, 0), state[None])
            return t + 1, state, states

        _, _, states = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), tf.zeros((1, units)), tf.zeros((steps, 1, units))),
        )
        return states

    return tf.function(run, jit_compile=True, autograph=False)


def summed_update(drive, state, indices, values):
    """The gathered product summed with a reduction (the earlier form)."""
    product = ops.sum(ops.take(state, indices, axis=1) * values, axis=-1)
    return state + LEAK * (tf.tanh(drive + product) - state)


def measure(units, steps, rounds):
    layer = Reservoir(units, spectral_radius=1.25, leak_rate=LEAK, seed=0)
    layer.build((None, None, 1))
    matrix = layer.recurrent_kernel.numpy()
    indices, values = sparse_columns(matrix)
    rng = np.random.default_rng(0)
    drive = (0.5 * rng.standard_normal((steps, 1, units))).astype("float32")
    csr_t = scipy.sparse.csr_matrix(matrix.T)  # x W = (W^T x^T)^T

    def numpy_loop():
        state, out = np.zeros(units, "float32"), np.empty((steps, units))
        for t in range(steps):
            state = state + LEAK * (
                np.tanh(drive[t, 0] + csr_t @ state) - state
            )
            out[t] = state
        return out

    reference = numpy_loop()
    layout = (tf.constant(indices), tf.constant(values))
    variants = {  # `Reservoir.step` is the ESN's own update
        "xla-dense": (xla_loop(layer.step, units, steps), ()),
        "xla-sum": (xla_loop(summed_update, units, steps), layout),
        "xla-gather": (
            xla_loop(lambda d, s, i, v: layer.step(d, s, (i, v)), units, steps),
            layout,
        ),
    }
    drive_t = tf.constant(drive)
    errors = {}
    for name, (loop, consts) in variants.items():
        result = loop(drive_t, *consts).numpy()[:, 0]  # compiles
        errors[name] = float(np.abs(result - reference).max())
    times = {name: [] for name in ["scipy-csr", *variants]}
    for _ in range(rounds):
        start = time.perf_counter()
        numpy_loop()
        times["scipy-csr"].append(time.perf_counter() - start)
        for name, (loop, consts) in variants.items():
            start = time.perf_counter()
            loop(drive_t, *consts).numpy()
            times[name].append(time.perf_counter() - start)
    per_step = {
        name: 1e3 * float(np.median(values)) / steps
        for name, values in times.items()
    }
    return {
        "units": units,
        "nonzeros_per_column_padded": int(indices.shape[1]),
        "ms_per_step_median": per_step,
        "ratio_to_scipy": {
            name: value / per_step["scipy-csr"]
            for name, value in per_step.items()
        },
        "max_abs_error_vs_numpy": errors,
    }


def main():
    if ARGS.plot_only:
        plot(ARGS.output)
        return
    results = {"threads": ARGS.threads, "steps": ARGS.steps, "cases": []}
    print(f"ms per step (median of {ARGS.rounds} rounds), ratio to scipy-csr")
    print("\n| units | formulation | ms / step | ratio | max error |")
    print("|---|---|---|---|---|")
    for units in ARGS.units:
        case = measure(units, ARGS.steps, ARGS.rounds)
        results["cases"].append(case)
        for name, value in case["ms_per_step_median"].items():
            error = case["max_abs_error_vs_numpy"].get(name)
            print(
                f"| {units} | {name} | {value:.3f} | "
                f"{case['ratio_to_scipy'][name]:.2f} | "
                f"{'' if error is None else f'{error:.1e}'} |",
                flush=True,
            )
    path = pathlib.Path(ARGS.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    plot(path)


NAMES = {
    "scipy-csr": "SciPy CSR loop",
    "xla-dense": "XLA dense",
    "xla-sum": "XLA gather,\nops.sum",
    "xla-gather": "XLA gather, ones\nproduct (the ESN's)",
}


def plot(path):
    """Time per step relative to the SciPy loop, as bars, from `path`."""
    from _plots import grouped_bars, load, pyplot, save

    saved = load(path)
    names = list(saved["cases"][0]["ratio_to_scipy"])
    series = {
        f"{case['units']} units": [
            case["ratio_to_scipy"].get(name) for name in names
        ]
        for case in saved["cases"]
    }
    figure, ax = pyplot().subplots(figsize=(7, 3.6))
    grouped_bars(ax, [NAMES.get(n, n) for n in names], series, reference=1.0)
    ax.set_ylabel("time per step / SciPy's")
    ax.set_title(
        f"One reservoir step at batch 1, {saved['threads']} thread, median "
        f"over rounds of {saved['steps']} steps; below 1: faster",
        fontsize=9,
    )
    save(figure, "esn_step.png")


if __name__ == "__main__":
    main()
