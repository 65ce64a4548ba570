"""ESN trials in `sweep` (toolkit/tuning/esn_trials.py): each trial's score
against a NumPy reference, draws' mean and std, resume, failures, tuners,
errors."""

import json
import socket
import sys
import textwrap

import keras_tuner
import numpy as np
import pytest

from toolkit.data import mackey_glass
from toolkit.models import ESN
from toolkit.tuning import (
    ESNHyperModel,
    esn_trials,
    reservoir_space,
    ridge_space,
    spectral_radius_space,
    sweep,
    trials_frame,
)

UNITS = 12
WASHOUT = 20


def _data():
    series = mackey_glass(361, seed=0).astype("float32")
    x, y = series[:-1], series[1:]
    return (x[:240], y[:240]), (x[240:], y[240:])


def _space(hp):
    # A ridge that keeps the normal equations well conditioned, so that
    # float32 states and the float64 reference agree to 1e-4.
    return {
        **spectral_radius_space(hp),
        **reservoir_space(hp, spectral_radius=False, ridge=False),
        **ridge_space(hp, min_value=1e-4, max_value=1e-2, default=1e-3),
    }


def _run(tmp_path, **kwargs):
    train, validation = _data()
    options = dict(
        space=_space,
        validation_data=validation,
        fixed={"units": UNITS, "washout": WASHOUT},
        max_trials=2,
        draws=2,
        directory=tmp_path,
        project_name="p",
        seed=5,
        verbose=0,
    )
    options.update(kwargs)
    return sweep(ESN, train, **options)


def _reference(row, seed, generation=None, steps=None):
    """The trial's draw by hand: the ESN's drawn weights, then the states,
    the ridge fit, the validation run (continuing the training states) and
    the NRMSEs in NumPy. `steps`: fit on the last `steps` training steps
    only (from zero states), as a Hyperband round does."""
    (x, y), (x_val, y_val) = _data()
    if steps is not None:
        x, y = x[-steps:], y[-steps:]
    names = ("spectral_radius", "leak_rate", "input_scaling")
    esn = ESN(UNITS, seed=seed, **{k: row[k] for k in names})
    esn.build((None, None, 1))
    reservoir = esn.reservoirs[0]
    w_in = np.asarray(reservoir.kernel, dtype="float64")
    w = np.asarray(reservoir.recurrent_kernel, dtype="float64")
    b = np.asarray(reservoir.bias, dtype="float64")
    a = row["leak_rate"]

    def run(inputs, state):
        states = []
        for u in inputs:
            state = (1 - a) * state + a * np.tanh(u @ w_in + state @ w + b)
            states.append(state)
        return np.array(states), state

    states, last = run(x.astype("float64"), np.zeros(UNITS))
    features, targets = states[WASHOUT:], y[WASHOUT:].astype("float64")
    mean_x, mean_y = features.mean(0), targets.mean(0)
    centred = features - mean_x
    kernel = np.linalg.solve(
        centred.T @ centred + row["ridge"] * np.eye(UNITS),
        centred.T @ (targets - mean_y),
    )
    bias = mean_y - mean_x @ kernel
    predicted = run(x_val.astype("float64"), last)[0] @ kernel + bias
    scores = {
        "val_nrmse": np.sqrt(np.mean((predicted - y_val) ** 2)) / np.std(y_val)
    }
    if generation is not None:
        steps, warmup = generation["steps"], generation["warmup"]
        states, state = run(x_val[:warmup].astype("float64"), np.zeros(UNITS))
        value = states[-1] @ kernel + bias
        generated = [value]
        for _ in range(steps - 1):
            state = (1 - a) * state + a * np.tanh(value @ w_in + state @ w + b)
            value = state @ kernel + bias
            generated.append(value)
        truth = y_val[warmup - 1 : warmup - 1 + steps]
        scores["val_generation_nrmse"] = np.sqrt(
            np.mean((np.array(generated) - truth) ** 2)
        ) / np.std(truth)
    return scores


def test_trial_scores_equal_a_numpy_reference(tmp_path):
    generation = {"steps": 8, "warmup": 30}
    frame = _run(tmp_path, generation=generation, metrics=["mae"])
    assert list(frame["status"]) == ["completed"] * 2
    assert list(frame["epochs"]) == [0, 0]
    for _, row in frame.iterrows():
        record = json.loads(
            (
                tmp_path / "p" / "records" / f"trial_{row['trial_id']}.json"
            ).read_text()
        )
        # Draw d has seed `seed + d` (one reservoir), in every trial.
        assert record["draw_seeds"] == [5, 6]
        for draw, seed in enumerate(record["draw_seeds"], start=1):
            expected = _reference(row, seed, generation)
            for name, value in expected.items():
                np.testing.assert_allclose(
                    row[f"{name}_draw_{draw}"], value, rtol=2e-3
                )
        # The objective is the mean over draws; the spread is their std.
        for name in ("val_nrmse", "val_mae", "val_generation_nrmse"):
            draws = [row[f"{name}_draw_{d}"] for d in (1, 2)]
            assert row[f"best_{name}"] == pytest.approx(np.mean(draws))
            assert row[f"{name}_std"] == pytest.approx(np.std(draws))
    # keras-tuner's oracle got the mean as the objective.
    oracle = json.loads((tmp_path / "p" / "trial_0" / "trial.json").read_text())
    observed = oracle["metrics"]["metrics"]["val_nrmse"]["observations"]
    assert observed[0]["value"][0] == pytest.approx(
        frame.iloc[0]["best_val_nrmse"]
    )


def test_hyperband_rounds_fit_on_their_share_of_the_training_series(
    tmp_path,
):
    # max_epochs 3, factor 3: trials of budget 1 (the last 80 of the 240
    # training steps) and the promoted one refitted on all 240.
    frame = _run(tmp_path, tuner="hyperband", epochs=3, draws=1)
    assert set(frame["status"]) == {"completed"}
    assert set(frame["tuner/epochs"]) == {1, 3}
    for _, row in frame.iterrows():
        steps = int(np.ceil(row["tuner/epochs"] / 3 * 240))
        expected = _reference(row, 5, steps=steps)
        np.testing.assert_allclose(
            row["val_nrmse_draw_1"], expected["val_nrmse"], rtol=2e-3
        )


def test_last_steps_keep_the_end_of_each_sequence():
    series = np.arange(10.0)[:, None]
    np.testing.assert_array_equal(
        esn_trials.last_steps(series, 0.25), series[-3:]
    )
    batch = np.stack([series, series + 100])
    assert esn_trials.last_steps(batch, 1.0).shape == (2, 10, 1)
    pieces = esn_trials.last_steps([series[:4], series], 0.5)
    assert [len(p) for p in pieces] == [2, 5]
    assert esn_trials.last_steps(series, 0.01).shape == (1, 1)


def test_draw_builds_the_same_esn_as_by_hand():
    hyperparameters = {"units": UNITS, "spectral_radius": 0.7}
    esn = esn_trials._draw(None, 3, hyperparameters)
    esn.build((None, None, 1))
    by_hand = ESN(UNITS, spectral_radius=0.7, seed=3)
    by_hand.build((None, None, 1))
    np.testing.assert_array_equal(
        esn.reservoirs[0].recurrent_kernel,
        by_hand.reservoirs[0].recurrent_kernel,
    )


class _RedrawnESN(ESN):
    """An ESN whose `redraw` (the reservoir work's) records its calls."""

    def redraw(self, seed=None, **hyperparameters):
        self.redrawn = (seed, hyperparameters)
        return self


def test_redraw_only_when_the_structure_is_the_same():
    esn = _RedrawnESN(UNITS, spectral_radius=0.5, leak_rate=0.3, seed=1)
    assert esn_trials._redraw(None, 2, {"units": UNITS}) is None
    assert esn_trials._redraw(esn, 2, {"units": UNITS + 1}) is None
    assert (
        esn_trials._redraw(esn, 2, {"units": UNITS, "connectivity": 0.2})
        is None
    )
    assert not hasattr(esn, "redrawn")
    same = esn_trials._redraw(esn, 4, {"units": UNITS, "leak_rate": 0.7})
    assert same is esn
    # Left-out scales take the constructor's defaults, as a new ESN would.
    assert esn.redrawn == (
        4,
        {
            "spectral_radius": 0.9,
            "leak_rate": 0.7,
            "input_scaling": 1.0,
            "bias_scaling": 0.0,
            "feedback_scaling": 1.0,
        },
    )


def test_resume_keeps_finished_trials_without_refitting(tmp_path, monkeypatch):
    first = _run(tmp_path)
    draws = []
    original = esn_trials._draw

    def counting(*args, **kwargs):
        draws.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(esn_trials, "_draw", counting)
    again = _run(tmp_path)
    assert draws == []  # nothing re-run
    assert list(again["start"]) == list(first["start"])
    more = _run(tmp_path, max_trials=3)
    assert draws == [5, 6]  # only the new trial's two draws
    assert list(more["trial_id"]) == ["0", "1", "2"]
    assert list(more["start"][:2]) == list(first["start"])


def test_failed_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    calls = []

    def fragile(y_true, y_pred):
        calls.append(1)
        return float("nan") if len(calls) == 2 else 0.5

    frame = _run(tmp_path, draws=1, max_trials=3, metrics={"odd": fragile})
    assert list(frame["status"]) == ["completed", "failed", "completed"]
    assert "val_odd is not finite" in frame.iloc[1]["error"]
    assert frame.iloc[2]["best_val_odd"] == 0.5
    assert (tmp_path / "p" / "trials.csv").exists()


@pytest.mark.filterwarnings("ignore:The optimal value found for dimension")
def test_bayesian_tuner_and_validation_split(tmp_path):
    pytest.importorskip("sklearn")
    (x, y), _ = _data()
    frame = sweep(
        ESN,
        (x, y),
        spectral_radius_space,
        tuner="bayesian",
        validation_split=0.25,
        fixed={"units": UNITS, "washout": WASHOUT},
        max_trials=2,
        draws=1,
        directory=tmp_path,
        project_name="b",
        seed=0,
        verbose=0,
        tuner_options={"num_initial_points": 1},
    )
    assert list(frame["status"]) == ["completed"] * 2
    assert frame["best_val_nrmse"].notna().all()


def test_plots_take_the_draws_columns_as_metrics(tmp_path):
    pytest.importorskip("matplotlib")
    from toolkit.tuning import plot_parallel_coordinates
    from toolkit.tuning.plots import hyperparameter_columns

    frame = _run(tmp_path)
    assert hyperparameter_columns(frame) == [
        "spectral_radius",
        "leak_rate",
        "input_scaling",
        "ridge",
    ]
    plot_parallel_coordinates(frame, "best_val_nrmse", path=tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0


def test_esn_hypermodel_splits_model_and_fit_arguments():
    hypermodel = ESNHyperModel(reservoir_space, fixed={"units": 5})
    hp = keras_tuner.HyperParameters()
    model, fit = hypermodel.split(hypermodel.arguments(hp))
    assert fit == {"ridge": 1e-6}
    assert model == {
        "units": 5,
        "spectral_radius": 0.9,
        "leak_rate": 1.0,
        "input_scaling": 1.0,
    }
    assert isinstance(hypermodel.build(hp), ESN)


def _train():
    return _data()[0]


ERRORS = [
    (
        "`median_stopping` needs epochs",
        lambda tmp: sweep(ESN, _train(), median_stopping=True, directory=tmp),
    ),
    (
        "`early_stopping` needs epochs",
        lambda tmp: sweep(ESN, _train(), early_stopping=2, directory=tmp),
    ),
    (
        "`draws` applies to ESN trials only",
        lambda tmp: sweep(lambda: None, _train(), draws=2, directory=tmp),
    ),
    (
        "`draws` must be a positive integer",
        lambda tmp: sweep(ESN, _train(), draws=0, directory=tmp),
    ),
    (
        "`metrics` must be one of",
        lambda tmp: sweep(ESN, _train(), metrics=["r2"], directory=tmp),
    ),
    (
        "`metrics` as a dict must map",
        lambda tmp: sweep(ESN, _train(), metrics={"a": 1}, directory=tmp),
    ),
    (
        "`metrics` must be None, a list",
        lambda tmp: esn_trials.check_metrics(3),
    ),
    (
        "`generation` must be None or a dict with `steps`",
        lambda tmp: sweep(ESN, _train(), generation=84, directory=tmp),
    ),
    (
        "`generation` takes only `steps` and `warmup`",
        lambda tmp: esn_trials.check_generation({"steps": 2, "n": 1}),
    ),
    (
        "`warmup` must be a positive integer",
        lambda tmp: esn_trials.check_generation({"steps": 2, "warmup": 0}),
    ),
    (
        "`validation_split` leaves no training",
        lambda tmp: esn_trials.split_validation(
            np.zeros((3, 1)), np.zeros((3, 1)), None, 0.01
        ),
    ),
    (
        "score on a validation part",
        lambda tmp: esn_trials.split_validation(
            np.zeros((3, 1)), np.zeros((3, 1)), None, None
        ),
    ),
    (
        "`callbacks` needs epochs",
        lambda tmp: sweep(ESN, _train(), callbacks=[1], directory=tmp),
    ),
]


@pytest.mark.parametrize(
    "match, call", ERRORS, ids=[match for match, _ in ERRORS]
)
def test_errors(tmp_path, match, call):
    with pytest.raises(ValueError, match=match):
        call(tmp_path)


def test_type_errors(tmp_path):
    with pytest.raises(TypeError, match="`builder` must be `toolkit.models"):
        ESNHyperModel(builder=dict)
    with pytest.raises(TypeError, match="must be an `ESNHyperModel`"):
        esn_trials.ESNTuner(
            keras_tuner.HyperModel(),
            oracle=keras_tuner.oracles.RandomSearchOracle(
                keras_tuner.Objective("val_nrmse", "min")
            ),
            directory=tmp_path,
        )


def test_esn_sweep_tuner_on_its_own_takes_any_oracle(tmp_path):
    from toolkit.tuning import ESNSweepTuner

    def oracle():
        return keras_tuner.oracles.RandomSearchOracle(
            keras_tuner.Objective("val_nrmse", "min"), max_trials=2, seed=1
        )

    hypermodel = ESNHyperModel(spectral_radius_space, fixed={"units": UNITS})
    with pytest.raises(ValueError, match="`median_stopping` needs epochs"):
        ESNSweepTuner(hypermodel, median_stopping=True, oracle=oracle())
    tuner = ESNSweepTuner(
        hypermodel,
        draws=2,
        draw_seed=5,
        oracle=oracle(),
        verbose=0,
        directory=tmp_path,
        project_name="own",
    )
    tuner.search(*_train(), validation_data=_data()[1])
    frame = trials_frame(tmp_path / "own")
    assert list(frame["status"]) == ["completed"] * 2
    assert {"best_val_nrmse", "val_nrmse_std", "val_nrmse_draw_2"} <= set(
        frame.columns
    )
    record = json.loads(
        (tmp_path / "own" / "records" / "trial_0.json").read_text()
    )
    assert record["draw_seeds"] == [5, 6]


def test_trial_errors_are_recorded(tmp_path):
    # A generation longer than the validation part, Keras callbacks given
    # to the tuner directly: the trial fails with the reason.
    frame = _run(tmp_path, generation={"steps": 200, "warmup": 30}, draws=1)
    assert set(frame["status"]) == {"failed"}
    assert (
        "`warmup + steps - 1` <= the validation length 120"
        in (frame.iloc[0]["error"])
    )
    _, validation = _data()
    with pytest.raises(ValueError, match="`callbacks` needs epochs"):
        sweep(ESN, _train(), callbacks=[object()], directory=tmp_path)
    tuner = esn_trials.ESNTuner(
        ESNHyperModel(fixed={"units": 4}),
        oracle=keras_tuner.oracles.RandomSearchOracle(
            keras_tuner.Objective("val_nrmse", "min"), max_trials=1
        ),
        directory=tmp_path,
        project_name="own",
    )
    with pytest.raises(ValueError, match="no epochs for Keras callbacks"):
        tuner.run_trial(
            tuner.oracle.create_trial("t"),
            *_train(),
            validation_data=validation,
            callbacks=[object()],
        )
    with pytest.raises(ValueError, match="the validation input as one"):
        esn_trials._generation_score(
            None, [np.zeros((3, 1))], None, {"steps": 1, "warmup": 1}
        )


SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from toolkit.data import mackey_glass
from toolkit.models import ESN
from toolkit.tuning import spectral_radius_space, sweep

series = mackey_glass(301, seed=0)
x, y = series[:-1], series[1:]
sweep(ESN, (x[:200], y[:200]), spectral_radius_space,
      validation_data=(x[200:], y[200:]), max_trials=3, draws=2,
      fixed={{"units": 10, "washout": 20}}, directory={directory!r},
      project_name="p", seed=0, verbose=0)
"""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_distributed_esn_sweep(tmp_path):
    from toolkit.tuning import launch_local

    script = tmp_path / "sweep_script.py"
    root = __file__.rsplit("/tests/", 1)[0]
    script.write_text(
        textwrap.dedent(
            SCRIPT.format(root=root, directory=str(tmp_path / "sweeps"))
        )
    )
    codes = launch_local(
        [sys.executable, str(script)], workers=2, port=_free_port(), timeout=300
    )
    assert codes == {"chief": 0, "tuner0": 0, "tuner1": 0}
    frame = trials_frame(tmp_path / "sweeps" / "p")
    assert sorted(frame["trial_id"]) == ["0", "1", "2"]
    assert list(frame["status"]) == ["completed"] * 3
    assert set(frame["tuner_id"]) <= {"tuner0", "tuner1"}
    assert frame["val_nrmse_draw_2"].notna().all()
