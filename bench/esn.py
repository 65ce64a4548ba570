"""Echo state networks: toolkit.models.ESN against ReservoirPy, same run.

Cases (pick with --cases; each prints a table and is merged into
bench/results/esn.json as soon as it finishes, seed by seed, so an
interrupted run keeps its finished work and --resume skips it):

- mg500:   one-step-ahead Mackey-Glass (tau 17, scaled to [-1, 1]), 500
           units, spectral radius 1.25, leak 0.3, ridge 1e-6, 2000 training
           and 1000 test steps, washout 100; NRMSE, wall time of
           init + fit + predict, and 84-step closed-loop NRMSE, per
           reservoir seed (same series for every seed and both libraries;
           the test run continues from the state at the end of training).
- mg2000:  the same with 2000 units, 10,000 training and 10,000 test steps.
- batch32: 32 Mackey-Glass series (different initial histories), 2000
           training and 1000 test steps each, fitted in one call.
- mg500_seeds: mg500 on many seeds (--many-seeds, default 200), ours and
           ReservoirPy only: how far apart two libraries' 20-seed medians
           are when nothing but the random draws differs (the ratio of the
           medians with a bootstrap 95% interval, and the ratio in each
           disjoint block of 20 seeds).
- narma:   NARMA-10, 500 units, spectral radius 0.9, leak 1, 2000 / 1000.
- memory:  2000 units fitted on 100,000 steps, peak resident memory (ours
           only; run it in its own process).
- plot:    closed-loop generation against the truth, saved as PNG (and
           the series in the JSON).

Run: python bench/esn.py --cases mg500 mg2000 batch32 narma plot --seeds 20
     python bench/esn.py --cases memory
     python bench/esn.py --plot-only bench/results/esn.json="1 thread" \
         bench/results/esn_2threads.json="2 threads"
The figures go to docs/benchmarks/img/: esn_speed.png (time ratios of
every JSON given to --plot-only, default --output) and
esn_generation.png (from the `plot` case).
Both libraries use float64 NumPy/SciPy where they use them, and the same
thread count (--threads, default 1: the machine is shared).
"""

import argparse
import contextlib
import json
import os
import pathlib
import sys
import time

from _threads import pin_blas, pin_threads

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["mg500", "mg2000", "batch32", "narma", "plot"],
        choices=[
            "mg500",
            "mg500_seeds",
            "mg2000",
            "batch32",
            "narma",
            "memory",
            "plot",
        ],
    )
    parser.add_argument("--seeds", type=int, default=20, help="mg500, narma")
    parser.add_argument(
        "--many-seeds", type=int, default=200, help="mg500_seeds"
    )
    parser.add_argument("--big-seeds", type=int, default=3, help="mg2000")
    parser.add_argument("--big-steps", type=int, default=10_000)
    parser.add_argument(
        "--big-checks",
        action="store_true",
        help="mg2000: also run ours on ReservoirPy's weights and "
        "ReservoirPy on other seeds (as mg500 always does)",
    )
    parser.add_argument("--memory-steps", type=int, default=100_000)
    parser.add_argument("--memory-chunk", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default=str(RESULTS / "esn.json"))
    parser.add_argument(
        "--resume", action="store_true", help="skip finished seeds"
    )
    parser.add_argument(
        "--table", action="store_true", help="only print the saved table"
    )
    parser.add_argument(
        "--plot-only",
        nargs="*",
        metavar="JSON[=LABEL]",
        help="redraw the figures from these result files (default "
        "--output), run nothing; LABEL names a file's bars",
    )
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    pin_blas(ARGS.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def nrmse(prediction, target):
    prediction = np.asarray(prediction).reshape(target.shape)
    return float(np.sqrt(np.mean((prediction - target) ** 2)) / np.std(target))


def scaled_mackey_glass(n, seed=0):
    from toolkit.data import mackey_glass

    series = mackey_glass(n + 1, seed=seed)
    return 2 * (series - series.min()) / (series.max() - series.min()) - 1


# One run of each library -------------------------------------------------


def run_ours(
    hp, x_train, y_train, x_test, y_test, seed, closed=None, weights=None
):
    from toolkit.models import ESN

    times = {}
    start = time.perf_counter()
    model = ESN(
        hp["units"],
        spectral_radius=hp["sr"],
        leak_rate=hp["leak"],
        input_scaling=hp.get("input_scaling", 1.0),
        seed=seed,
    )
    model.build((None, None, x_train.shape[-1]))
    if weights is not None:  # ReservoirPy's matrices: W x and W_in u
        model.reservoirs[0].recurrent_kernel.assign(weights[0].T)
        model.reservoirs[0].kernel.assign(weights[1].T)
    times["init"] = time.perf_counter() - start
    start = time.perf_counter()
    with ridge_timers() as spent:
        states = model.fit(
            x_train,
            y_train,
            washout=hp["washout"],
            ridge=hp["ridge"],
            return_state=True,
        )
    times["fit"] = time.perf_counter() - start
    times.update(spent)
    start = time.perf_counter()
    prediction = model.predict(x_test, initial_state=states)
    times["predict"] = time.perf_counter() - start
    result = {"nrmse": nrmse(prediction, y_test), **times}
    result["total"] = times["init"] + times["fit"] + times["predict"]
    if closed is not None:
        warm, steps = closed
        generated = model.generate(
            steps, warmup=x_test[..., :warm, :], initial_state=states
        )
        truth = y_test[..., warm - 1 : warm - 1 + steps, :]
        result["closed_loop_nrmse"] = nrmse(generated, truth)
        result["generated"] = generated
    return result


@contextlib.contextmanager
def ridge_timers():
    """Seconds spent in the readout's normal equations (`X^T X`, `X^T Y`,
    float64) and in the ridge solve during a `fit`: the part of `fit`
    that is not the reservoir's loop (overlapped with it when `fit` may
    use a second thread)."""
    from toolkit.layers.reservoir.ridge import RidgeRegression

    spent = {"normal_equations": 0.0, "solve": 0.0}
    originals = {
        "update": RidgeRegression.update,
        "solve": RidgeRegression.solve,
    }

    def timed(method, key):
        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        return wrapper

    RidgeRegression.update = timed(originals["update"], "normal_equations")
    RidgeRegression.solve = timed(originals["solve"], "solve")
    try:
        yield spent
    finally:
        RidgeRegression.update = originals["update"]
        RidgeRegression.solve = originals["solve"]


def dense(matrix):
    matrix = matrix.toarray() if hasattr(matrix, "toarray") else matrix
    return np.asarray(matrix, dtype="float32")


def run_reservoirpy(hp, x_train, y_train, x_test, y_test, seed, closed=None):
    from reservoirpy.nodes import Reservoir, Ridge

    times = {}
    start = time.perf_counter()
    reservoir = Reservoir(
        hp["units"],
        sr=hp["sr"],
        lr=hp["leak"],
        input_scaling=hp.get("input_scaling", 1.0),
        seed=seed,
    )
    readout = Ridge(ridge=hp["ridge"])
    model = reservoir >> readout
    reservoir.initialize(x_train if x_train.ndim == 2 else x_train[0])
    times["init"] = time.perf_counter() - start
    start = time.perf_counter()
    train = x_train if x_train.ndim == 2 else list(x_train)
    target = y_train if y_train.ndim == 2 else list(y_train)
    model.fit(train, target, warmup=hp["washout"])
    times["fit"] = time.perf_counter() - start
    saved = {k: np.copy(v) for k, v in reservoir.state.items()}
    start = time.perf_counter()
    if x_test.ndim == 2:
        prediction = model.run(x_test)
    else:  # continue each series from its own training state is not kept
        prediction = np.stack([model.run(series) for series in x_test])
    times["predict"] = time.perf_counter() - start
    result = {"nrmse": nrmse(prediction, y_test), **times}
    result["total"] = times["init"] + times["fit"] + times["predict"]
    if closed is not None:
        warm, steps = closed
        reservoir.state = {k: np.copy(v) for k, v in saved.items()}
        y = model.run(x_test[:warm])[-1:]
        generated = [y[0]]
        for _ in range(steps - 1):
            y = model.run(y)
            generated.append(y[0])
        generated = np.array(generated)
        truth = y_test[warm - 1 : warm - 1 + steps]
        result["closed_loop_nrmse"] = nrmse(generated, truth)
        result["generated"] = generated
    result["weights"] = (dense(reservoir.W), dense(reservoir.Win))
    return result


# Cases ------------------------------------------------------------------


def mackey_glass_case(name, units, n_train, n_test, seeds, store, checks):
    hp = dict(units=units, sr=1.25, leak=0.3, ridge=1e-6, washout=100)
    series = scaled_mackey_glass(n_train + n_test, seed=0)
    x, y = series[:-1], series[1:]
    split = (x[:n_train], y[:n_train], x[n_train:], y[n_train:])
    rows = store.setdefault(name, {"hyperparameters": hp, "seeds": {}})
    for seed in range(seeds):
        if str(seed) in rows["seeds"]:
            continue
        row = {}
        for library, run in (("ours", run_ours), ("rpy", run_reservoirpy)):
            result = run(hp, *split, seed, closed=(500, 84))
            result.pop("generated")
            weights = result.pop("weights", None)
            row[library] = result
        if checks:
            # Same implementation check: our ESN on ReservoirPy's weights.
            same = run_ours(hp, *split, seed, (500, 84), weights=weights)
            same.pop("generated")
            row["ours_on_rpy_weights"] = same
            # Spread of the median itself: ReservoirPy, 20 other seeds.
            other = run_reservoirpy(hp, *split, 1000 + seed, (500, 84))
            other.pop("generated")
            other.pop("weights")
            row["rpy_other_seeds"] = other
        rows["seeds"][str(seed)] = row
        save(store)
        print(
            f"  seed {seed}: NRMSE ours {row['ours']['nrmse']:.3g} rpy "
            f"{row['rpy']['nrmse']:.3g}; time ours "
            f"{row['ours']['total']:.2f}s rpy {row['rpy']['total']:.2f}s",
            flush=True,
        )
    summarise(name, rows, seeds)


def summarise(name, rows, seeds):
    kept = [
        rows["seeds"][str(s)] for s in range(seeds) if str(s) in rows["seeds"]
    ]
    summary = {"n_seeds": len(kept)}
    for library in ("ours", "rpy", "ours_on_rpy_weights", "rpy_other_seeds"):
        for key in ("nrmse", "closed_loop_nrmse", "init", "fit", "predict",
                    "total", "normal_equations", "solve"):  # fmt: skip
            values = [
                r[library][key]
                for r in kept
                if library in r and key in r[library]
            ]
            if values:
                summary[f"{library}_{key}_median"] = float(np.median(values))
    if kept:
        summary["nrmse_ratio"] = (
            summary["ours_nrmse_median"] / summary["rpy_nrmse_median"]
        )
        summary["time_ratio"] = (
            summary["ours_total_median"] / summary["rpy_total_median"]
        )
        same = [
            r["ours_on_rpy_weights"]["nrmse"] / r["rpy"]["nrmse"]
            for r in kept
            if "ours_on_rpy_weights" in r
        ]
        if same:
            summary["n_checked_seeds"] = len(same)
            summary["same_weights_ratio_min"] = float(np.min(same))
            summary["same_weights_ratio_max"] = float(np.max(same))
        ours_first = kept[0]["ours"]["total"]
        summary["ours_first_seed_total"] = ours_first
    rows["summary"] = summary


def batch_case(store, n_series=32, n_train=2000, n_test=1000):
    hp = dict(units=500, sr=1.25, leak=0.3, ridge=1e-6, washout=100)
    data = np.stack(
        [scaled_mackey_glass(n_train + n_test, seed=s) for s in range(n_series)]
    )
    x, y = data[:, :-1], data[:, 1:]
    split = (x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:])
    row = {"hyperparameters": hp, "n_series": n_series}
    for library, run in (("ours", run_ours), ("rpy", run_reservoirpy)):
        row[library] = run(hp, *split, seed=0)
        row[library].pop("weights", None)
    row["time_ratio"] = row["ours"]["total"] / row["rpy"]["total"]
    row["note"] = (
        "ReservoirPy runs each test series on from the state its last fitted "
        "series left; ours continues every series from its own state."
    )
    store["batch32"] = row
    save(store)


def narma_case(store, seeds, n_train=2000, n_test=1000):
    from toolkit.data import narma

    hp = dict(units=500, sr=0.9, leak=1.0, ridge=1e-6, washout=100)
    u, y = narma(n_train + n_test, order=10, seed=0)
    split = (u[:n_train], y[:n_train], u[n_train:], y[n_train:])
    rows = store.setdefault("narma", {"hyperparameters": hp, "seeds": {}})
    for seed in range(seeds):
        if str(seed) in rows["seeds"]:
            continue
        row = {}
        for library, run in (("ours", run_ours), ("rpy", run_reservoirpy)):
            row[library] = run(hp, *split, seed)
            row[library].pop("weights", None)
        rows["seeds"][str(seed)] = row
        save(store)
    summarise("narma", rows, seeds)
    save(store)


def memory_case(store, steps, chunk_size):
    from toolkit.models import ESN

    after_import = rss_mib("VmRSS")
    series = scaled_mackey_glass(steps, seed=1)
    x, y = series[:-1], series[1:]
    model = ESN(2000, spectral_radius=1.25, leak_rate=0.3, seed=0)
    model.build((None, None, 1))
    # Compile the loop first (a fixed cost, not a function of the length).
    model.fit(x[:chunk_size], y[:chunk_size], chunk_size=chunk_size)
    before = rss_mib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    model.fit(x, y, washout=100, ridge=1e-6, chunk_size=chunk_size)
    elapsed = time.perf_counter() - start
    store["memory"] = {
        "units": 2000,
        "steps": len(x),
        "chunk_size": chunk_size,
        "fit_seconds": elapsed,
        "rss_after_import_mib": after_import,
        "rss_before_fit_mib": before,
        "peak_rss_during_fit_mib": rss_mib("VmHWM"),
        "note": "peak resident set of the whole process (TensorFlow "
        "included), reset just before fit via /proc/self/clear_refs, "
        "after a first short fit that compiled the loop",
    }
    save(store)


def plot_case(store, steps=300):
    hp = dict(units=500, sr=1.25, leak=0.3, ridge=1e-6, washout=100)
    series = scaled_mackey_glass(3000, seed=0)
    x, y = series[:-1], series[1:]
    split = (x[:2000], y[:2000], x[2000:], y[2000:])
    ours = run_ours(hp, *split, seed=0, closed=(500, steps))
    rpy = run_reservoirpy(hp, *split, seed=0, closed=(500, steps))
    same = run_ours(hp, *split, 0, closed=(500, steps), weights=rpy["weights"])
    truth = y[2499 : 2499 + steps]
    store["plot"] = {
        "steps": steps,
        "seed": 0,
        "truth": truth.ravel().tolist(),
        "ours": np.ravel(ours["generated"]).tolist(),
        "rpy": np.ravel(rpy["generated"]).tolist(),
        "ours_on_rpy_weights": np.ravel(same["generated"]).tolist(),
    }
    save(store)
    plot_generation(store["plot"])


def plot_generation(saved):
    """The closed-loop series of the `plot` case against the truth."""
    from _plots import pyplot
    from _plots import save as save_figure

    figure, axis = pyplot().subplots(figsize=(9, 3.2))
    axis.plot(saved["truth"], color="black", lw=2, label="Mackey-Glass (truth)")
    axis.plot(saved["ours"], "--", label="toolkit ESN, closed loop")
    axis.plot(saved["rpy"], ":", label="ReservoirPy, closed loop")
    axis.plot(
        saved["ours_on_rpy_weights"], "-.", lw=0.8,
        label="toolkit ESN on ReservoirPy's weights",
    )  # fmt: skip
    axis.axvline(84, color="grey", lw=0.8)
    axis.text(86, 0.9, "84 steps", color="grey")
    axis.set_xlabel("generated step")
    axis.set_ylim(-1.2, 1.2)
    axis.legend(loc="lower left", fontsize=8)
    axis.set_title(
        f"500-unit ESN (seed {saved['seed']}) generating Mackey-Glass on "
        "its own"
    )
    figure.tight_layout()
    save_figure(figure, "esn_generation.png")


SPEED_CASES = {
    "mg500": "Mackey-Glass\n500 units",
    "mg2000": "Mackey-Glass\n2000 units",
    "narma": "NARMA-10\n500 units",
    "batch32": "32 series\n500 units",
}


def plot(sources):
    """esn_speed.png from the result files `sources` ("path" or
    "path=label"), and esn_generation.png if the first holds its series."""
    from _plots import grouped_bars, pyplot, threads_label
    from _plots import save as save_figure

    series, stores = {}, []
    for source in sources:
        path, _, label = source.partition("=")
        store = json.loads(pathlib.Path(path).read_text())
        stores.append(store)
        threads = {
            case["threads"]
            for case in store.values()
            if isinstance(case, dict) and "threads" in case
        }
        if not label:
            label = pathlib.Path(path).stem
            if len(threads) == 1:
                label = threads_label(threads.pop())
        series[label] = [
            case_time_ratio(store.get(name)) for name in SPEED_CASES
        ]
    figure, ax = pyplot().subplots(figsize=(7, 3.8))
    grouped_bars(ax, list(SPEED_CASES.values()), series, reference=1.0)
    ax.set_ylabel("time / ReservoirPy's time")
    ax.set_title(
        "toolkit ESN against ReservoirPy: init + fit + predict, medians "
        "over seeds; below 1: ours faster",
        fontsize=9,
    )
    save_figure(figure, "esn_speed.png")
    if "truth" in stores[0].get("plot", {}):
        plot_generation(stores[0]["plot"])
    else:
        print(
            f"{sources[0].partition('=')[0]} holds no generated series "
            "(rerun the `plot` "
            "case to save them): esn_generation.png left as it is"
        )


def case_time_ratio(case):
    if not case:
        return None
    if "summary" in case:
        return case["summary"].get("time_ratio")
    return case.get("time_ratio")


# Output -----------------------------------------------------------------


def rss_mib(field):
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def seed_spread(rows, block=20, resamples=10_000):
    """How much of a gap between two medians over `block` seeds the random
    draws alone make: the ratio of the medians over all seeds with a
    bootstrap 95% interval (seeds resampled independently for each library,
    whose draws are independent), and the ratio within each disjoint block
    of `block` seeds."""
    seeds = sorted(rows["seeds"], key=int)
    ours = np.array([rows["seeds"][s]["ours"]["nrmse"] for s in seeds])
    rpy = np.array([rows["seeds"][s]["rpy"]["nrmse"] for s in seeds])
    rng = np.random.default_rng(0)
    boot = np.median(
        rng.choice(ours, (resamples, ours.size)), axis=1
    ) / np.median(rng.choice(rpy, (resamples, rpy.size)), axis=1)
    blocks = [
        float(np.median(ours[i : i + block]) / np.median(rpy[i : i + block]))
        for i in range(0, ours.size - block + 1, block)
    ]
    rows["spread"] = {
        "n_seeds": int(ours.size),
        "ratio_of_medians": float(np.median(ours) / np.median(rpy)),
        "bootstrap_95": [float(q) for q in np.quantile(boot, [0.025, 0.975])],
        "block": block,
        "block_ratios": blocks,
        "blocks_within_1.05": int(sum(r <= 1.05 for r in blocks)),
    }


def save(store):
    path = pathlib.Path(ARGS.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=1, default=float))


def print_table(store):
    print("\n| case | metric | toolkit ESN | ReservoirPy | ratio |")
    print("|---|---|---|---|---|")
    for name in ("mg500", "mg2000", "narma"):
        if name not in store or "summary" not in store[name]:
            continue
        s = store[name]["summary"]
        label = f"{name} ({s['n_seeds']} seeds, median)"
        print(
            f"| {label} | NRMSE | {s['ours_nrmse_median']:.3g} | "
            f"{s['rpy_nrmse_median']:.3g} | {s['nrmse_ratio']:.2f} |"
        )
        if "ours_on_rpy_weights_nrmse_median" in s:
            label = f"{name} ({s.get('n_checked_seeds', '?')} seeds, median)"
            print(
                f"| {label} | NRMSE, toolkit ESN on ReservoirPy's weights "
                f"/ ReservoirPy on seeds 1000+ | "
                f"{s['ours_on_rpy_weights_nrmse_median']:.3g} | "
                f"{s['rpy_other_seeds_nrmse_median']:.3g} | |"
            )
            print(
                f"| {label} | per-seed NRMSE ratio, same weights (min-max) "
                f"| | | {s['same_weights_ratio_min']:.4f}-"
                f"{s['same_weights_ratio_max']:.4f} |"
            )
            label = f"{name} ({s['n_seeds']} seeds, median)"
        if "ours_closed_loop_nrmse_median" in s:
            print(
                f"| {label} | 84-step closed-loop NRMSE | "
                f"{s['ours_closed_loop_nrmse_median']:.3g} | "
                f"{s['rpy_closed_loop_nrmse_median']:.3g} | "
                f"{s['ours_closed_loop_nrmse_median'] / s['rpy_closed_loop_nrmse_median']:.2f} |"  # noqa: E501
            )
        print(
            f"| {label} | init + fit + predict (s) | "
            f"{s['ours_total_median']:.2f} (init {s['ours_init_median']:.2f}"
            f", fit {s['ours_fit_median']:.2f}, predict "
            f"{s['ours_predict_median']:.2f}) | {s['rpy_total_median']:.2f} "
            f"(init {s['rpy_init_median']:.2f}, fit {s['rpy_fit_median']:.2f}"
            f", predict {s['rpy_predict_median']:.2f}) | "
            f"{s['time_ratio']:.2f} |"
        )
        if "ours_normal_equations_median" in s:
            print(
                f"| {label} | of our fit: float64 X^T X and X^T Y; ridge "
                f"solve (s) | {s['ours_normal_equations_median']:.2f}; "
                f"{s['ours_solve_median']:.3f} | | |"
            )
    if "spread" in store.get("mg500_seeds", {}):
        sp = store["mg500_seeds"]["spread"]
        s = store["mg500_seeds"]["summary"]
        blocks = sorted(sp["block_ratios"])
        print(
            f"| mg500 ({sp['n_seeds']} seeds, median) | NRMSE | "
            f"{s['ours_nrmse_median']:.3g} | {s['rpy_nrmse_median']:.3g} | "
            f"{sp['ratio_of_medians']:.2f} (bootstrap 95%: "
            f"{sp['bootstrap_95'][0]:.2f}-{sp['bootstrap_95'][1]:.2f}) |"
        )
        print(
            f"| mg500, {len(blocks)} disjoint blocks of {sp['block']} seeds "
            f"| ratio of the block medians (min / median / max) | | | "
            f"{blocks[0]:.2f} / {np.median(blocks):.2f} / {blocks[-1]:.2f}"
            f" ({sp['blocks_within_1.05']} of {len(blocks)} <= 1.05) |"
        )
    if "batch32" in store:
        b = store["batch32"]
        print(
            f"| batch32 (32 series, one call) | init + fit + predict (s) | "
            f"{b['ours']['total']:.2f} | {b['rpy']['total']:.2f} | "
            f"{b['time_ratio']:.2f} |"
        )
        print(
            f"| batch32 | NRMSE (all series) | {b['ours']['nrmse']:.3g} | "
            "not comparable (see note) | |"
        )
    if "memory" in store:
        m = store["memory"]
        print(
            f"| memory ({m['units']} units, {m['steps']} steps, chunks of "
            f"{m.get('chunk_size', 4096)}) | peak RSS of the process during "
            f"fit (MiB) | {m['peak_rss_during_fit_mib']:.0f} (before fit "
            f"{m['rss_before_fit_mib']:.0f}, after imports "
            f"{m.get('rss_after_import_mib', float('nan')):.0f}; fit "
            f"{m['fit_seconds']:.0f} s) | not run | |"
        )


def main():
    path = pathlib.Path(ARGS.output)
    store = json.loads(path.read_text()) if path.exists() else {}
    if ARGS.plot_only is not None:
        plot(ARGS.plot_only or [ARGS.output])
        return
    if ARGS.table:
        print_table(store)
        return
    if not ARGS.resume:
        for case in ARGS.cases:
            store.pop(case, None)
    pin_threads(ARGS.threads)
    for case in ARGS.cases:
        print(f"== {case}", flush=True)
        if case == "mg500":
            mackey_glass_case(
                "mg500", 500, 2000, 1000, ARGS.seeds, store, checks=True
            )
        elif case == "mg500_seeds":
            mackey_glass_case(
                "mg500_seeds",
                500,
                2000,
                1000,
                ARGS.many_seeds,
                store,
                checks=False,
            )
            seed_spread(store["mg500_seeds"])
        elif case == "mg2000":
            mackey_glass_case(
                "mg2000",
                2000,
                ARGS.big_steps,
                ARGS.big_steps,
                ARGS.big_seeds,
                store,
                checks=ARGS.big_checks,
            )
        elif case == "batch32":
            batch_case(store)
        elif case == "narma":
            narma_case(store, min(ARGS.seeds, 5))
        elif case == "memory":
            memory_case(store, ARGS.memory_steps, ARGS.memory_chunk)
        elif case == "plot":
            plot_case(store)
        if isinstance(store.get(case), dict):
            store[case]["threads"] = ARGS.threads
        save(store)
    print_table(store)
    plot([ARGS.output])


if __name__ == "__main__":
    main()
