"""Reservoir hyperparameter search: toolkit ESN against ReservoirPy +
hyperopt, the same search space and budget, in the same run.

The task is one-step-ahead Mackey-Glass (tau 17, seed 0, scaled to
[-1, 1], as in `bench/esn.py`): 2000 training steps (washout 100), then
the next 1000 steps as the validation part, run on from the state at the
end of training. A trial is one point of the search space scored on
`--draws` reservoir draws (the same seeds for every trial, as
ReservoirPy's tutorial does: 1234, 1235, ... for ReservoirPy, the search
seed + 0, 1, ... for the sweep); its loss is the mean
validation NRMSE over the draws (NRMSE = RMSE / std of the target, the
same function for both libraries; a non-finite NRMSE scores 1e6).

Search space (both libraries, random search, `--trials` points):
500 units; spectral radius log-uniform in [1e-2, 10]; leak rate
log-uniform in [1e-3, 1]; input scaling log-uniform in [0.1, 10]; ridge
log-uniform in [1e-8, 10].

- ReservoirPy 0.4.2 runs as its hyperopt tutorial does: a JSON config
  (`exp`, `hp_max_evals`, `hp_method="random"`, `seed`,
  `instances_per_trial`, `hp_space`) and an objective
  `objective(dataset, config, *, N, sr, lr, iss, ridge, seed)` that
  builds `Reservoir >> Ridge` per instance, handed to
  `reservoirpy.hyper.research` (hyperopt's `fmin`, one JSON report per
  trial written to a temporary folder, as the tutorial's are).
- Ours: `search_ours`, one `toolkit.tuning.sweep(ESN, ...)` call with
  ESN trials: the same space as `toolkit.tuning.reservoir_spaces`
  (`spectral_radius_space`, `leak_rate_space`, `input_scaling_space`,
  `ridge_space`, all on log scales), `fixed={"units": 500, "washout":
  100}`, `draws=3`, keras-tuner's random tuner seeded with the search
  seed (42, 43, ...; the draws' ESN seeds are the search seed + d),
  the records in a temporary directory; every draw redraws the
  reservoir of one ESN in place (`ESN.redraw`). `--same-points` is not
  the sweep: a direct loop (`search_points`) over the points hyperopt
  drew for ReservoirPy, one ESN redrawn in place, ESN seeds 1234 + d.

`--objective val_generation_nrmse` searches for generation instead: each
draw reads the first 400 validation inputs from zero states, then runs
84 steps in closed loop, scored by their NRMSE against the truth (the
sweep's `generation={"steps": 84, "warmup": 400}`: a window that ends
before `bench/esn_generation.py`'s test window; ReservoirPy's
objective does the same by hand, `reset()`, `run` on the warm-up, then
one `run` per fed-back step).

Ours only (`--space`, `--tuner`): `--space wide` adds the bias scaling
(linear in [0, 1]) to SPACE and feeds the input to the readout;
`--space toolkit` is `toolkit.tuning.reservoir_space`'s own default
ranges (spectral radius [0.1, 1.5], leak rate [0.05, 1] log, input
scaling [0.1, 2], ridge [1e-9, 0.1] log) with the bias scaling, the
input fed to the readout; `--tuner bayesian` is keras-tuner's Gaussian
process. These are not ReservoirPy's tutorial search: ReservoirPy is
not run.

Printed: wall time of each whole search and their ratio (target: at most
0.33x), the best validation NRMSE of each and the spread over the best
trial's draws (and over `--repeats` searches with different search seeds).

Run: python bench/esn_search.py                    # 100 trials x 3 draws
     python bench/esn_search.py --trials 20        # a small budget
     python bench/esn_search.py --same-points      # ours on hyperopt's
                                                   # points, no luck
     python bench/esn_search.py --objective val_generation_nrmse
     python bench/esn_search.py --trials 300 --space toolkit \
         --objective val_generation_nrmse          # ours only
     python bench/esn_search.py --plot-only        # redraw from the JSON
The results go to bench/results/esn_search.json (--output), the figure
to docs/benchmarks/img/ under the same stem (esn_search.png). One thread
each (--threads).
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _threads import pin_blas, pin_threads  # noqa: E402

UNITS = 500
WASHOUT = 100
N_TRAIN, N_VAL = 2000, 1000
DRAW_SEED = 1234
FAILED = 1e6
OBJECTIVES = ("val_nrmse", "val_generation_nrmse")
#: `--objective val_generation_nrmse`: read the first 400 validation
#: inputs from zero states, then 84 steps in closed loop. The scored
#: window (series steps 2400-2483) ends before the one
#: `bench/esn_generation.py` tests on (2500-2583, after its 500-step
#: warm-up), so a point found here is not chosen on that test.
GENERATION = {"steps": 84, "warmup": 400}
# name: (hyperopt's kind, low, high); ReservoirPy's argument names.
SPACE = {
    "sr": ("loguniform", 1e-2, 10.0),
    "lr": ("loguniform", 1e-3, 1.0),
    "iss": ("loguniform", 0.1, 10.0),
    "ridge": ("loguniform", 1e-8, 10.0),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="whole searches per library, search seeds 42, 43, ...",
    )
    parser.add_argument(
        "--same-points",
        action="store_true",
        help="ours evaluates the very points hyperopt drew for ReservoirPy "
        "(the libraries compared on equal points, no sampling luck)",
    )
    parser.add_argument(
        "--objective",
        default="val_nrmse",
        choices=OBJECTIVES,
        help="one-step validation NRMSE, or the NRMSE of 84 closed-loop "
        "steps after a 400-step warm-up on the validation part",
    )
    parser.add_argument(
        "--space",
        default="same",
        choices=["same", "wide", "toolkit"],
        help="same: SPACE, both libraries; wide (ours only): SPACE plus "
        "bias scaling in [0, 1] and the input fed to the readout; toolkit "
        "(ours only): `reservoir_space`'s default ranges plus bias "
        "scaling, the input fed to the readout",
    )
    parser.add_argument(
        "--tuner",
        default="random",
        choices=["random", "bayesian"],
        help="our sweep's tuner (ReservoirPy's search stays random)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--libraries", nargs="+", default=["ours", "rpy"],
        choices=["ours", "rpy"],
    )  # fmt: skip
    parser.add_argument(
        "--output",
        default=str(ROOT / "bench" / "results" / "esn_search.json"),
    )
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the figure from --output, run nothing",
    )
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    pin_blas(ARGS.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from esn import nrmse  # noqa: E402  (one scorer for every ESN bench)


def score(prediction, target):
    value = nrmse(prediction, target)
    return value if np.isfinite(value) else FAILED


def dataset():
    from toolkit.data import mackey_glass

    series = mackey_glass(N_TRAIN + N_VAL + 1, seed=0)
    series = 2 * (series - series.min()) / (series.max() - series.min()) - 1
    x, y = series[:-1], series[1:]
    train = (x[:N_TRAIN], y[:N_TRAIN])
    validation = (x[N_TRAIN:], y[N_TRAIN:])
    return train, validation


# Ours -------------------------------------------------------------------

#: Our names of SPACE's hyperparameters (`ESN` and `ESN.fit` arguments).
OURS = {
    "sr": "spectral_radius",
    "lr": "leak_rate",
    "iss": "input_scaling",
    "ridge": "ridge",
}


def reservoir_space(hp):
    """SPACE as the toolkit's reservoir search spaces (all log-uniform)."""
    from toolkit.tuning import reservoir_spaces as spaces

    (_, sr_low, sr_high), (_, lr_low, lr_high) = SPACE["sr"], SPACE["lr"]
    (_, iss_low, iss_high), (_, r_low, r_high) = SPACE["iss"], SPACE["ridge"]
    return {
        **spaces.spectral_radius_space(
            hp, sr_low, sr_high, default=1.0, sampling="log"
        ),
        **spaces.leak_rate_space(hp, lr_low, lr_high, default=0.3),
        **spaces.input_scaling_space(
            hp, iss_low, iss_high, default=1.0, sampling="log"
        ),
        **spaces.ridge_space(hp, r_low, r_high, default=1e-6),
    }


def wide_space(hp):
    """`--space wide`: SPACE and the bias scaling, linear in [0, 1]."""
    from toolkit.tuning import reservoir_spaces as spaces

    return {**reservoir_space(hp), **spaces.bias_scaling_space(hp)}


def toolkit_space(hp):
    """`--space toolkit`: `toolkit.tuning.reservoir_space` with its own
    default ranges (spectral radius [0.1, 1.5], leak rate [0.05, 1] log,
    input scaling [0.1, 2], ridge [1e-9, 0.1] log) and the bias scaling
    [0, 1]."""
    from toolkit.tuning import reservoir_space as space

    return space(hp, bias_scaling=True)


def search_ours(data, trials, draws, search_seed, objective):
    """Random search through one `toolkit.tuning.sweep` call with ESN
    trials: `trials` points of SPACE drawn by keras-tuner's random tuner
    (seeded with `search_seed`), each scored on `draws` reservoir draws
    (ESN seeds `search_seed + d`, the same in every trial), the reservoir
    redrawn in place (`ESN.redraw`) for every draw; the validation part
    runs on from the state at the end of training. The sweep's records go
    to a temporary directory. Returns one row per trial: `params` (SPACE's
    keys), the mean `loss`, the per-draw `losses` (FAILED for a failed
    trial) and `seconds` since the call began (the last row's: the wall
    time of the whole call)."""
    from toolkit.models import ESN
    from toolkit.tuning import sweep

    train, validation = data
    name = "same" if ARGS is None else ARGS.space
    wide = name != "same"
    fixed = {"units": UNITS, "washout": WASHOUT}
    if wide:
        fixed["input_to_readout"] = True
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        frame = sweep(
            ESN,
            train,
            {"same": reservoir_space, "wide": wide_space}.get(
                name, toolkit_space
            ),
            validation_data=validation,
            fixed=fixed,
            tuner="random" if ARGS is None else ARGS.tuner,
            max_trials=trials,
            draws=draws,
            objective=objective,
            generation=GENERATION if "generation" in objective else None,
            max_consecutive_failed_trials=trials,
            directory=folder,
            project_name="esn_search",
            seed=search_seed,
            overwrite=True,
            verbose=0,
        )
        end = time.perf_counter()
    rows = []
    frame = frame.sort_values("start")
    elapsed = 0.0
    for _, row in frame.iterrows():
        params = {key: float(row[name]) for key, name in OURS.items()}
        if wide:
            params["bias"] = float(row["bias_scaling"])
        losses = [row.get(f"{objective}_draw_{d + 1}") for d in range(draws)]
        losses = [
            float(x) if x is not None and np.isfinite(x) else FAILED
            for x in losses
        ]
        elapsed += float(row["duration_s"] or 0.0)
        rows.append(
            {
                "params": params,
                "loss": float(np.mean(losses)),
                "losses": losses,
                "seconds": elapsed,
                "status": row["status"],
            }
        )
    rows[-1]["seconds"] = end - start  # the whole call, the tuner included
    return rows


def search_points(data, points, draws, objective):
    """Not the sweep: a direct loop over given `points` (e.g. hyperopt's
    for ReservoirPy, `--same-points`), with one `ESN` whose reservoir is
    redrawn in place (`ESN.redraw`) for every draw of every point, ESN
    seeds DRAW_SEED + d as ReservoirPy's. The same rows as `search_ours`.
    """
    from toolkit.models import ESN, generation_nrmse

    (x_train, y_train), (x_val, y_val) = data
    model = None
    rows = []
    start = time.perf_counter()
    for params in points:
        scales = {OURS[k]: params[k] for k in ("sr", "lr", "iss")}
        losses = []
        for draw in range(draws):
            seed = DRAW_SEED + draw
            if model is None:
                model = ESN(UNITS, seed=seed, **scales)
            else:
                model.redraw(seed=seed, **scales)
            states = model.fit(
                x_train,
                y_train,
                washout=WASHOUT,
                ridge=params["ridge"],
                return_state=True,
            )
            if objective == "val_generation_nrmse":
                steps, warmup = GENERATION["steps"], GENERATION["warmup"]
                truth = y_val[warmup - 1 : warmup - 1 + steps]
                value = float(
                    generation_nrmse(model, x_val[:warmup], truth, steps)
                )
                losses.append(value if np.isfinite(value) else FAILED)
            else:
                prediction = model.predict(x_val, initial_state=states)
                losses.append(score(prediction, y_val))
        rows.append(
            {
                "params": params,
                "loss": float(np.mean(losses)),
                "losses": losses,
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


# ReservoirPy, as its hyperopt tutorial runs it ---------------------------


def rpy_objective(dataset, config, *, N, sr, lr, iss, ridge, seed):
    from reservoirpy.nodes import Reservoir, Ridge

    (x_train, y_train), (x_val, y_val) = dataset
    losses = []
    for instance in range(config["instances_per_trial"]):
        reservoir = Reservoir(
            N, sr=sr, lr=lr, input_scaling=iss, seed=seed + instance
        )
        model = reservoir >> Ridge(ridge=ridge)
        model.fit(x_train, y_train, warmup=config["washout"])
        if config["objective"] == "val_generation_nrmse":
            losses.append(rpy_generation_score(model, x_val, y_val))
        else:
            prediction = model.run(x_val)
            losses.append(score(prediction, y_val))
    return {"loss": float(np.mean(losses)), "losses": losses}


def rpy_generation_score(model, x_val, y_val):
    """As the sweep's `val_generation_nrmse`: from zero states, read the
    first `warmup` validation inputs, then feed each prediction back for
    `steps` steps; the NRMSE against the validation targets."""
    steps, warmup = GENERATION["steps"], GENERATION["warmup"]
    model.reset()
    y = model.run(x_val[:warmup])[-1:]
    generated = [y[0]]
    for _ in range(steps - 1):
        y = model.run(y)
        generated.append(y[0])
    truth = y_val[warmup - 1 : warmup - 1 + steps]
    with np.errstate(all="ignore"):
        return score(np.array(generated), truth)


def search_rpy(data, trials, draws, search_seed, objective):
    from reservoirpy.hyper import research

    config = {
        "exp": "esn_search_mackey_glass",
        "hp_max_evals": trials,
        "hp_method": "random",
        "seed": search_seed,
        "instances_per_trial": draws,
        "washout": WASHOUT,
        "objective": objective,
        "hp_space": {
            "N": ["choice", UNITS],
            **{name: list(spec) for name, spec in SPACE.items()},
            "seed": ["choice", DRAW_SEED],
        },
    }
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / f"{config['exp']}.config.json"
        path.write_text(json.dumps(config))
        start = time.perf_counter()
        _, found = research(rpy_objective, data, str(path), folder)
        end = time.perf_counter()
    rows = []
    first = found.trials[0]["result"]["start_time"]
    for trial in found.trials:
        result = trial["result"]
        params = {k: float(v[0]) for k, v in trial["misc"]["vals"].items()}
        # hyperopt's values are indices for `choice` (N and seed, fixed).
        params = {k: params[k] for k in SPACE}
        rows.append(
            {
                "params": params,
                "loss": result["loss"],
                "losses": result["losses"],
                "seconds": result["start_time"] + result["duration"] - first,
            }
        )
    rows[-1]["seconds"] = end - start  # the whole search, fmin included
    return rows


# Summary, output, figure -------------------------------------------------


def summarise(store):
    summary = {}
    for library in ("ours", "rpy"):
        runs = store.get(library)
        if not runs:
            continue
        bests = [min(runs_rows, key=lambda r: r["loss"]) for runs_rows in runs]
        times = [rows[-1]["seconds"] for rows in runs]
        summary[library] = {
            "seconds_median": float(np.median(times)),
            "seconds": times,
            "best_loss": [b["loss"] for b in bests],
            "best_loss_median": float(np.median([b["loss"] for b in bests])),
            "best_params": [b["params"] for b in bests],
            "best_draws_min": [float(min(b["losses"])) for b in bests],
            "best_draws_max": [float(max(b["losses"])) for b in bests],
        }
    if "ours" in summary and "rpy" in summary:
        summary["time_ratio"] = (
            summary["ours"]["seconds_median"] / summary["rpy"]["seconds_median"]
        )
        summary["best_loss_ratio"] = (
            summary["ours"]["best_loss_median"]
            / summary["rpy"]["best_loss_median"]
        )
    store["summary"] = summary


def print_table(store):
    s = store["summary"]
    names = {
        "ours": "toolkit ESN, "
        + ("direct loop" if store.get("same_points") else "sweep"),
        "rpy": "ReservoirPy + hyperopt",
    }
    print(
        f"\n{store['trials']} trials x {store['draws']} draws, "
        f"{store['repeats']} search(es), {store['threads']} thread(s)"
    )
    print("| library | wall time (s), median | best validation NRMSE, "
          "median (each search) | best trial's draws, first search "
          "(min-max) | best point, first search |")  # fmt: skip
    print("|---|---|---|---|---|")
    for library in ("ours", "rpy"):
        if library not in s:
            continue
        x = s[library]
        point = ", ".join(
            f"{k} {v:.3g}" for k, v in x["best_params"][0].items()
        )
        each = ", ".join(f"{b:.3g}" for b in x["best_loss"])
        print(
            f"| {names[library]} | {x['seconds_median']:.1f} | "
            f"{x['best_loss_median']:.3g} ({each}) | "
            f"{x['best_draws_min'][0]:.3g}-{x['best_draws_max'][0]:.3g} | "
            f"{point} |"
        )
    if "time_ratio" in s:
        print(
            f"time ratio (ours / ReservoirPy's): {s['time_ratio']:.2f}x "
            f"(target <= 0.33x); best NRMSE ratio {s['best_loss_ratio']:.2f}"
        )


def plot(store):
    from _plots import pyplot
    from _plots import save as save_figure

    labels = {"ours": "toolkit ESN", "rpy": "ReservoirPy + hyperopt"}
    figure, (left, right) = pyplot().subplots(
        1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2.2, 1]}
    )
    for index, library in enumerate(("ours", "rpy")):
        for number, rows in enumerate(store.get(library, [])):
            best = np.minimum.accumulate([r["loss"] for r in rows])
            left.step(
                np.arange(1, len(best) + 1),
                best,
                where="post",
                color=f"C{index}",
                alpha=1.0 if number == 0 else 0.5,
                label=labels[library] if number == 0 else None,
            )
    left.set_yscale("log")
    left.set_xlabel("trial")
    left.set_ylabel(
        "best 84-step generation NRMSE so far"
        if store.get("objective") == "val_generation_nrmse"
        else "best validation NRMSE so far"
    )
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    points = "the same points" if store.get("same_points") else "own points"
    left.set_title(
        f"Random search ({points}), {store['draws']} draws per trial, "
        f"{UNITS} units, Mackey-Glass",
        fontsize=9,
    )
    s = store["summary"]
    shown = [lib for lib in ("ours", "rpy") if lib in s]
    seconds = [s[lib]["seconds_median"] for lib in shown]
    bars = right.bar(
        [labels[lib].replace(" + ", "\n+ ") for lib in shown],
        seconds,
        color=[f"C{('ours', 'rpy').index(lib)}" for lib in shown],
    )
    right.bar_label(bars, labels=[f"{t:.0f} s" for t in seconds], fontsize=8)
    right.set_ylabel("wall time of the search (s)")
    title = f"{store['trials']} trials"
    if "time_ratio" in s:
        title += f": {s['time_ratio']:.2f}x ReservoirPy's time"
    right.set_title(title, fontsize=9)
    right.grid(True, axis="y", alpha=0.3)
    right.set_axisbelow(True)
    figure.tight_layout()
    save_figure(figure, pathlib.Path(ARGS.output).stem + ".png")


def main():
    path = pathlib.Path(ARGS.output)
    if ARGS.plot_only:
        store = json.loads(path.read_text())
        print_table(store)
        plot(store)
        return
    pin_threads(ARGS.threads)
    data = dataset()
    store = {
        "trials": ARGS.trials,
        "draws": ARGS.draws,
        "repeats": ARGS.repeats,
        "threads": ARGS.threads,
        "units": UNITS,
        "space": {k: list(v) for k, v in SPACE.items()},
        "objective": ARGS.objective,
        "space_name": ARGS.space,
        "tuner": ARGS.tuner,
        "generation": GENERATION,
        "ours_api": (
            "a direct loop over ReservoirPy's points, one ESN redrawn in "
            "place (not the sweep)"
            if ARGS.same_points
            else "toolkit.tuning.sweep, ESN trials, random tuner"
        ),
    }
    store["same_points"] = ARGS.same_points
    searches = {"ours": search_ours, "rpy": search_rpy}
    libraries = ARGS.libraries
    if ARGS.space != "same" or ARGS.tuner != "random":
        libraries = ["ours"]  # not ReservoirPy's tutorial search any more
    if ARGS.same_points:
        libraries = sorted(libraries, reverse=True)  # ReservoirPy first
    for repeat in range(ARGS.repeats):
        for library in libraries:
            print(f"== {library}, search seed {42 + repeat}", flush=True)
            args = (data, ARGS.trials, ARGS.draws, 42 + repeat)
            if library == "ours" and ARGS.same_points:
                points = [row["params"] for row in store["rpy"][repeat]]
                rows = search_points(data, points, ARGS.draws, ARGS.objective)
            else:
                rows = searches[library](*args, ARGS.objective)
            store.setdefault(library, []).append(rows)
            best = min(r["loss"] for r in rows)
            print(
                f"  {rows[-1]['seconds']:.1f} s, best NRMSE {best:.3g}",
                flush=True,
            )
            summarise(store)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(store, indent=1, default=float))
    print_table(store)
    plot(store)


if __name__ == "__main__":
    main()
