"""Closed-loop generation: 84-step free-run NRMSE on Mackey-Glass, toolkit
ESN before and after the stability tools, beside ReservoirPy.

Mackey-Glass (tau 17, seed 0, scaled to [-1, 1]), as in `bench/esn.py`:
the reservoir (spectral radius 1.25, leak 0.3, connectivity 0.1, no bias,
input scaling 1; or the best point of a search, --from-search) is fitted
one step ahead on the first `n_train` steps (2000 at 500 units, 10,000 at
2000 units), washout 100; then it reads 500 true steps (the warm-up) and
generates on its own. Score: NRMSE of the first 84 generated steps
against the truth (normalised by the truth's std), median over --seeds
reservoir seeds (the same series for every seed and both libraries).

Variants (--variants):
- `before`:    the plain fit (ridge 1e-6), the test run continuing from
               the state at the end of training, as `bench/esn.py` does.
- `after_now`: what today's API allows of the stability tools: the input
               fed to the readout (`input_to_readout=True`), the ridge
               chosen among RIDGES by the one-step NRMSE on the last 20%
               of the training part (one fit per ridge by hand, then a
               refit on the whole training part), and the 500-step
               warm-up from the zero state.
- `after`:     all of them through the API of issue 17, every choice
               on the validation tail of the training part (never the
               test part): for each state noise of --state-noise (0,
               1e-6, 1e-5, 1e-4), `fit(state_noise=..., ridge=RIDGES,
               validation_split=0.2)` (the ridge by one-step NRMSE on the
               last 20%), then `toolkit.models.generation_nrmse` on that
               20% (300 steps read, 84 generated); the noise with the
               lowest one is kept, the readout refitted on the whole
               training part with it and its ridge
               (`input_to_readout=True`, the 500-step warm-up).
ReservoirPy 0.4.2 runs `before` and `after_now` at the same settings
(`reservoirpy.ESN(input_to_readout=True)`, the same ridge selection by
hand); its `after` is its `after_now` (the same seeds' results, not
rerun): its `Reservoir` has no noise option.

Run: python bench/esn_generation.py                        # 20 seeds
     python bench/esn_generation.py --seeds 5 --units 500  # small
     python bench/esn_generation.py --plot-only            # from JSON
Results go to bench/results/esn_generation.json (--output), the figure
to docs/benchmarks/img/esn_generation_stability.png (the output's stem
with esn_generation so renamed): a generated series against the truth
over --plot-steps steps (seed 0, 500 units) and the NRMSE bars.
"""

import argparse
import inspect
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _threads import pin_blas, pin_threads  # noqa: E402

HP = dict(
    sr=1.25, leak=0.3, input_scaling=1.0, bias=0.0, ridge=1e-6, washout=100
)
TRAIN_STEPS = {500: 2000, 2000: 10_000}
WARMUP, STEPS = 500, 84
RIDGES = [1e-10, 1e-8, 1e-6, 1e-4, 1e-2]
SPLIT = 0.2
VAL_WARMUP = 300  # of the validation tail (400 steps at 500 units)
VARIANTS = ("before", "after_now", "after")
LIBRARIES = ("ours", "rpy")
FIGURE = "esn_generation_stability"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--units", nargs="+", type=int, default=[500, 2000],
        choices=sorted(TRAIN_STEPS),
    )  # fmt: skip
    parser.add_argument(
        "--variants", nargs="+", default=["before", "after_now", "after"],
        choices=VARIANTS,
    )  # fmt: skip
    parser.add_argument(
        "--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES
    )
    parser.add_argument(
        "--state-noise",
        nargs="+",
        type=float,
        default=[0.0, 1e-6, 1e-5, 1e-4],
        help="the state noises `after` chooses from, on validation",
    )
    parser.add_argument(
        "--from-search",
        metavar="JSON",
        help="take spectral radius, leak and input scaling from the best "
        "point of our side of a bench/esn_search.py result",
    )
    parser.add_argument("--plot-steps", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--output",
        default=str(ROOT / "bench" / "results" / "esn_generation.json"),
    )
    parser.add_argument(
        "--resume", action="store_true", help="skip finished seeds"
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


def split_series(n_train, generated):
    from toolkit.data import mackey_glass

    n_test = WARMUP + max(generated, STEPS)
    series = mackey_glass(n_train + n_test + 1, seed=0)
    series = 2 * (series - series.min()) / (series.max() - series.min()) - 1
    x, y = series[:-1], series[1:]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def new_api_missing():
    """What of issue 17's API this checkout lacks (empty: all there)."""
    import toolkit.models
    from toolkit.models import ESN

    missing = []
    if "state_noise" not in inspect.signature(ESN.fit).parameters:
        missing.append("`ESN.fit(state_noise=...)`")
    if not hasattr(toolkit.models, "generation_nrmse"):
        missing.append("`toolkit.models.generation_nrmse`")
    return missing


def check_new_api():
    missing = new_api_missing()
    if missing:
        raise SystemExit(
            "The `after` variant needs the API of issue 17 (branch "
            "h-esncore, not merged into this checkout): "
            + " and ".join(missing)
            + " missing. Run `--variants before after_now` until the merge."
        )


# Ours -------------------------------------------------------------------


def ours_model(hp, units, seed, input_to_readout=False):
    from toolkit.models import ESN

    return ESN(
        units,
        spectral_radius=hp["sr"],
        leak_rate=hp["leak"],
        input_scaling=hp["input_scaling"],
        bias_scaling=hp.get("bias", 0.0),
        input_to_readout=input_to_readout,
        seed=seed,
    )


def choose_ridge(fit_and_score, x_train, y_train):
    """Today's ridge selection by hand: fit on the first 80% of the
    training part with each of RIDGES, score the one-step NRMSE on the
    rest, keep the best. `fit_and_score(ridge, x, y, x_val, y_val)`."""
    cut = int(len(x_train) * (1 - SPLIT))
    scores = {
        ridge: fit_and_score(
            ridge, x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]
        )
        for ridge in RIDGES
    }
    finite = {r: s for r, s in scores.items() if np.isfinite(s)}
    return min(finite, key=finite.get), scores


def run_ours(variant, hp, units, seed, data, generated):
    x_train, y_train, x_test, y_test = data
    warmup = x_test[:WARMUP]
    truth = y_test[WARMUP - 1 : WARMUP - 1 + generated]
    result = {}
    if variant == "before":
        model = ours_model(hp, units, seed)
        states = model.fit(
            x_train, y_train, washout=hp["washout"], ridge=hp["ridge"],
            return_state=True,
        )  # fmt: skip
        series = model.generate(generated, warmup=warmup, initial_state=states)
        result["ridge"] = hp["ridge"]
    elif variant == "after_now":
        model = ours_model(hp, units, seed, input_to_readout=True)

        def fit_and_score(ridge, x, y, x_val, y_val):
            states = model.fit(
                x, y, washout=hp["washout"], ridge=ridge, return_state=True
            )
            return nrmse(model.predict(x_val, initial_state=states), y_val)

        ridge, scores = choose_ridge(fit_and_score, x_train, y_train)
        model.fit(x_train, y_train, washout=hp["washout"], ridge=ridge)
        series = model.generate(generated, warmup=warmup)
        result.update(ridge=ridge, ridge_scores=list(scores.values()))
    else:
        series, result = run_ours_after(hp, units, seed, data, generated)
    result["closed_loop_nrmse"] = nrmse(series[:STEPS], truth[:STEPS])
    result["generated"] = np.ravel(series)
    return result


def run_ours_after(hp, units, seed, data, generated):
    """All the stability tools through issue 17's API, every choice made
    on the validation tail of the training part, never on the test part.

    For each state noise of --state-noise: `fit` on the training part
    with `state_noise=`, `ridge=RIDGES` and `validation_split=SPLIT` (the
    readout fitted on the first 80%, the ridge with the lowest one-step
    NRMSE on the last 20% kept), then `generation_nrmse` on that 20%:
    VAL_WARMUP of its inputs read from zero states, STEPS generated. The
    noise (and its ridge) with the lowest validation generation NRMSE is
    kept, the readout refitted on the whole training part with them, and
    the test part generated after the 500-step warm-up.
    """
    from toolkit.models import generation_nrmse

    x_train, y_train, x_test, y_test = data
    warmup = x_test[:WARMUP]
    truth = y_test[WARMUP - 1 : WARMUP - 1 + generated]
    cut = int(round(len(x_train) * (1 - SPLIT)))
    x_val, y_val = x_train[cut:], y_train[cut:]
    val_truth = y_val[VAL_WARMUP - 1 : VAL_WARMUP - 1 + STEPS]
    model = ours_model(hp, units, seed, input_to_readout=True)
    choices = {}
    for noise in ARGS.state_noise:
        model.fit(
            x_train,
            y_train,
            washout=hp["washout"],
            ridge=RIDGES,
            validation_split=SPLIT,
            state_noise=noise,
            noise_seed=seed,
        )
        value = float(
            generation_nrmse(model, x_val[:VAL_WARMUP], val_truth, STEPS)
        )
        choices[noise] = (value if np.isfinite(value) else np.inf, model.ridge_)
    noise = min(choices, key=lambda n: choices[n][0])
    ridge = float(choices[noise][1])
    model.fit(
        x_train,
        y_train,
        washout=hp["washout"],
        ridge=ridge,
        state_noise=noise,
        noise_seed=seed,
    )
    result = {
        "ridge": ridge,
        "state_noise": noise,
        "validation_generation_nrmse": {
            str(n): c[0] for n, c in choices.items()
        },
        "closed_loop_nrmse_api": float(
            generation_nrmse(model, warmup, truth[:STEPS], steps=STEPS)
        ),
    }
    return model.generate(generated, warmup=warmup), result


# ReservoirPy -------------------------------------------------------------


def rpy_model(hp, units, seed, ridge, input_to_readout=False):
    from reservoirpy import ESN
    from reservoirpy.mat_gen import uniform
    from reservoirpy.nodes import Reservoir, Ridge

    bias = hp.get("bias", 0.0)  # uniform in [-bias, bias], as ours
    reservoir = Reservoir(
        units,
        sr=hp["sr"],
        lr=hp["leak"],
        input_scaling=hp["input_scaling"],
        bias=uniform(low=-bias, high=bias) if bias else 0.0,
        seed=seed,
    )
    readout = Ridge(ridge=ridge)
    if input_to_readout:
        return ESN(reservoir=reservoir, readout=readout, input_to_readout=True)
    return reservoir >> readout


def rpy_generate(model, warmup, generated):
    """Read `warmup` (state as left by the last fit or run), then feed
    each prediction back, one step at a time."""
    y = model.run(warmup)[-1:]
    series = [y[0]]
    for _ in range(generated - 1):
        y = model.run(y)
        series.append(y[0])
    return np.array(series)


def run_rpy(variant, hp, units, seed, data, generated):
    x_train, y_train, x_test, y_test = data
    warmup = x_test[:WARMUP]
    truth = y_test[WARMUP - 1 : WARMUP - 1 + generated]
    result = {}
    if variant == "before":
        model = rpy_model(hp, units, seed, hp["ridge"])
        model.fit(x_train, y_train, warmup=hp["washout"])
        series = rpy_generate(model, warmup, generated)
        result["ridge"] = hp["ridge"]
    else:  # after_now, and after: ReservoirPy has no state noise

        def fit_and_score(ridge, x, y, x_val, y_val):
            model = rpy_model(hp, units, seed, ridge, input_to_readout=True)
            model.fit(x, y, warmup=hp["washout"])
            return nrmse(model.run(x_val), y_val)

        ridge, scores = choose_ridge(fit_and_score, x_train, y_train)
        model = rpy_model(hp, units, seed, ridge, input_to_readout=True)
        model.fit(x_train, y_train, warmup=hp["washout"])
        series = rpy_generate(model, warmup, generated)
        result.update(ridge=ridge, ridge_scores=list(scores.values()))
    result["closed_loop_nrmse"] = nrmse(series[:STEPS], truth[:STEPS])
    result["generated"] = np.ravel(series)
    return result


# Runs, summary, output ---------------------------------------------------


def run_size(store, units, hp):
    runs = {"ours": run_ours, "rpy": run_rpy}
    case = store.setdefault(str(units), {})
    data = split_series(TRAIN_STEPS[units], ARGS.plot_steps)
    for variant in ARGS.variants:
        for library in ARGS.libraries:
            rows = case.setdefault(variant, {}).setdefault(
                library, {"seeds": {}}
            )
            for seed in range(ARGS.seeds):
                if str(seed) in rows["seeds"]:
                    continue
                start = time.perf_counter()
                generated = ARGS.plot_steps if seed == 0 else STEPS
                same = case.get("after_now", {}).get("rpy", {}).get("seeds")
                if (
                    variant == "after"
                    and library == "rpy"
                    and str(seed) in (same or {})
                ):
                    # ReservoirPy has no noise: its after is its after_now.
                    rows["seeds"][str(seed)] = dict(same[str(seed)])
                    rows["same_as"] = "after_now"
                    continue
                result = runs[library](
                    variant, hp, units, seed, data, generated
                )
                result["seconds"] = time.perf_counter() - start
                series = result.pop("generated")
                if seed == 0 and units == 500:
                    store.setdefault("plot", {})[f"{variant}/{library}"] = (
                        series.tolist()
                    )
                rows["seeds"][str(seed)] = result
                print(
                    f"  {units} units, {variant}, {library}, seed {seed}: "
                    f"NRMSE {result['closed_loop_nrmse']:.3g} (ridge "
                    f"{result['ridge']:.0e}, noise "
                    f"{result.get('state_noise', 0):.0e}, "
                    f"{result['seconds']:.1f} s)",
                    flush=True,
                )
                save(store)
            values = [r["closed_loop_nrmse"] for r in rows["seeds"].values()]
            rows["median"] = float(np.median(values))
            rows["n_seeds"] = len(values)
            save(store)
    if units == 500 and "plot" in store:
        _, _, _, y_test = data
        truth = y_test[WARMUP - 1 : WARMUP - 1 + ARGS.plot_steps]
        store["plot"]["truth"] = np.ravel(truth).tolist()


def save(store):
    path = pathlib.Path(ARGS.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=1, default=float))


NAMES = {
    "before": "before (plain fit)",
    "after_now": "after, today's API (input to readout, ridge on "
    "validation, warm-up)",
    "after": "after, all tools (+ state noise)",
}


def print_table(store):
    print("\n| units | variant | toolkit ESN | ReservoirPy | ratio |")
    print("|---|---|---|---|---|")
    for units in sorted(TRAIN_STEPS):
        case = store.get(str(units), {})
        for variant in VARIANTS:
            if variant not in case:
                continue
            cells = []
            for library in LIBRARIES:
                rows = case[variant].get(library)
                cells.append(
                    f"{rows['median']:.3g} ({rows['n_seeds']} seeds)"
                    if rows and "median" in rows
                    else ""
                )
            medians = [
                case[variant].get(lib, {}).get("median") for lib in LIBRARIES
            ]
            ratio = f"{medians[0] / medians[1]:.2f}" if all(medians) else ""
            print(f"| {units} | {NAMES[variant]} | {cells[0]} | {cells[1]} "
                  f"| {ratio} |")  # fmt: skip


def plot(store):
    from _plots import grouped_bars, pyplot
    from _plots import save as save_figure

    figure, (top, bottom) = pyplot().subplots(
        2, 1, figsize=(9, 6.4), gridspec_kw={"height_ratios": [1.1, 1]}
    )
    saved = store.get("plot", {})
    if "truth" in saved:
        top.plot(saved["truth"], color="black", lw=2, label="truth")
        styles = {"ours": "--", "rpy": ":"}
        labels = {"ours": "toolkit ESN", "rpy": "ReservoirPy"}
        keys = [f"{v}/{lib}" for v in VARIANTS for lib in LIBRARIES]
        for index, key in enumerate(keys):  # the bars' colours
            if key not in saved:
                continue
            variant, library = key.split("/")
            top.plot(
                saved[key],
                styles[library],
                color=f"C{index}",
                lw=1.2,
                label=f"{labels[library]}, {variant.replace('_', ' ')}",
            )
        top.axvline(STEPS, color="grey", lw=0.8)
        top.text(STEPS + 2, 0.9, f"{STEPS} steps", color="grey")
        top.set_ylim(-1.3, 1.3)
        top.set_xlabel("generated step")
        top.legend(loc="lower left", fontsize=7, ncol=2)
        top.set_title(
            "500 units, seed 0: closed-loop generation after a 500-step "
            "warm-up",
            fontsize=9,
        )
    categories, series = [], {}
    for units in sorted(TRAIN_STEPS):
        case = store.get(str(units))
        if not case:
            continue
        categories.append(f"{units} units")
        for variant in VARIANTS:
            for library in LIBRARIES:
                name = f"{'toolkit' if library == 'ours' else 'ReservoirPy'}"
                name += f", {variant.replace('_', ' ')}"
                rows = case.get(variant, {}).get(library, {})
                series.setdefault(name, []).append(rows.get("median"))
    series = {k: v for k, v in series.items() if any(x is not None for x in v)}
    if series:
        for name in series:  # categories seen before this name existed
            series[name] += [None] * (len(categories) - len(series[name]))
        grouped_bars(bottom, categories, series, reference=1e-3, fmt="{:.2g}")
        bottom.set_yscale("log")
        bottom.set_ylabel(f"{STEPS}-step NRMSE (median)")
        bottom.text(
            -0.45, 1.1e-3, "target 1e-3 (500 units)", fontsize=7, color="grey"
        )
        bottom.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    stem = pathlib.Path(ARGS.output).stem  # esn_generation.png is esn.py's
    save_figure(figure, stem.replace("esn_generation", FIGURE) + ".png")


def hyperparameters():
    hp = dict(HP)
    if ARGS.from_search:
        found = json.loads(pathlib.Path(ARGS.from_search).read_text())
        best = found["summary"]["ours"]["best_params"][0]
        hp.update(sr=best["sr"], leak=best["lr"], input_scaling=best["iss"])
        hp["bias"] = best.get("bias", 0.0)
        hp["ridge"] = best["ridge"]
    return hp


def main():
    path = pathlib.Path(ARGS.output)
    store = json.loads(path.read_text()) if path.exists() else {}
    if ARGS.plot_only:
        print_table(store)
        plot(store)
        return
    if "after" in ARGS.variants:
        check_new_api()
    if not ARGS.resume:
        for units in ARGS.units:
            store.pop(str(units), None)
        if 500 in ARGS.units:
            store.pop("plot", None)
    pin_threads(ARGS.threads)
    hp = hyperparameters()
    store["hyperparameters"] = hp
    store["protocol"] = {
        "train_steps": TRAIN_STEPS,
        "warmup": WARMUP,
        "steps": STEPS,
        "ridges": RIDGES,
        "validation_split": SPLIT,
        "state_noise": ARGS.state_noise,
        "threads": ARGS.threads,
    }
    for units in ARGS.units:
        print(f"== {units} units", flush=True)
        run_size(store, units, hp)
    save(store)
    print_table(store)
    plot(store)


if __name__ == "__main__":
    main()
