import json
import pathlib

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest

from recipes import build_mlp_classifier
from toolkit.tuning import (
    MedianStopping,
    dropout_space,
    learning_rate_space,
    plot_metric_vs_hyperparameters,
    plot_parallel_coordinates,
    sweep,
    trials_frame,
)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64)).astype("float32")
    y = (x[:, :10].argmax(axis=1)).astype("int32")
    return (x[:48], y[:48]), (x[48:], y[48:])


def _run(tmp_path, builder=build_mlp_classifier, **kwargs):
    train, validation = _data()
    options = dict(
        space=[learning_rate_space, dropout_space],
        max_trials=3,
        epochs=2,
        batch_size=16,
        validation_data=validation,
        directory=tmp_path,
        project_name="p",
        fixed={"hidden_units": (4,)},
        seed=0,
        verbose=0,
    )
    options.update(kwargs)
    return sweep(builder, train, **options)


class _Counter(keras.callbacks.Callback):
    """Counts trainings in a file (callbacks are deep-copied per trial)
    and can raise `KeyboardInterrupt` (a Ctrl-C) during training number
    `interrupt_at`."""

    def __init__(self, path, interrupt_at=None):
        super().__init__()
        self.path = str(path)
        self.interrupt_at = interrupt_at

    def _count(self):
        file = pathlib.Path(self.path)
        return int(file.read_text()) if file.exists() else 0

    def on_train_begin(self, logs=None):
        pathlib.Path(self.path).write_text(str(self._count() + 1))

    def on_epoch_end(self, epoch, logs=None):
        if self._count() == self.interrupt_at:
            raise KeyboardInterrupt


def test_frame_has_every_hyperparameter_metric_epoch_and_csv(tmp_path):
    frame = _run(tmp_path)
    assert len(frame) == 3
    assert list(frame["status"]) == ["completed"] * 3
    for column in [
        "learning_rate",
        "dropout",
        "loss_epoch_1",
        "val_loss_epoch_2",
        "accuracy_epoch_2",
        "best_val_loss",
        "best_val_accuracy",
        "start",
        "end",
    ]:
        assert column in frame.columns, column
    for _, row in frame.iterrows():
        assert row["best_val_loss"] == min(
            row["val_loss_epoch_1"], row["val_loss_epoch_2"]
        )
        assert row["best_val_accuracy"] == max(
            row["val_accuracy_epoch_1"], row["val_accuracy_epoch_2"]
        )
        assert pd.Timestamp(row["start"]) <= pd.Timestamp(row["end"])
    csv = pd.read_csv(tmp_path / "p" / "trials.csv")
    assert len(csv) == 3
    np.testing.assert_allclose(csv["best_val_loss"], frame["best_val_loss"])
    assert frame.attrs["csv"].endswith("trials.csv")
    pytest.importorskip("matplotlib")
    figure = plot_metric_vs_hyperparameters(frame, path=tmp_path / "a.png")
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 2
    plot_parallel_coordinates(
        frame, "best_val_accuracy", path=tmp_path / "b.png"
    )
    assert (tmp_path / "b.png").stat().st_size > 0
    with pytest.raises(ValueError, match="`metric` must be a column"):
        plot_parallel_coordinates(frame, "val_f1")


def test_failed_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    counter = tmp_path / "builds"

    def fragile(**arguments):
        model = build_mlp_classifier(**arguments)
        builds = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(builds + 1))
        if builds == 1:
            raise RuntimeError("out of cheese")
        return model

    # keras-tuner builds the model once to learn the space: skip that call.
    counter.write_text("-1")
    frame = _run(tmp_path, builder=fragile)
    assert list(frame["status"]) == ["completed", "failed", "completed"]
    failed = frame.iloc[1]
    assert "RuntimeError: out of cheese" in failed["error"]
    assert failed["epochs"] == 0
    assert frame.iloc[2]["best_val_loss"] > 0


def test_median_rule_against_hand_computed_medians():
    curves = [[1.0, 0.8, 0.6], [1.2, 1.0, 0.9], [0.9, 0.7, 0.5]]
    rule = MedianStopping(
        "val_loss", "min", curves, min_trials=3, grace_epochs=2
    )
    # Running means up to epoch 2: 0.9, 1.1, 0.8 -> median 0.9.
    assert rule.should_stop([1.0, 0.95])
    assert not rule.should_stop([1.0, 0.85])
    assert not rule.should_stop([5.0])  # grace epoch
    # Epoch 3: means 0.8, 1.0333, 0.7 -> median 0.8.
    assert rule.should_stop([1.0, 0.9, 0.81])
    assert not rule.should_stop([1.0, 0.9, 0.79])
    assert not MedianStopping(
        "val_loss", "min", curves[:2], grace_epochs=1
    ).should_stop([9.0])
    accuracy = MedianStopping(
        "acc", "max", [[0.5], [0.7], [0.9]], grace_epochs=1
    )
    assert accuracy.should_stop([0.6]) and not accuracy.should_stop([0.8])


def test_median_stopping_ends_a_bad_trial_without_failing_it(tmp_path):
    counter = tmp_path / "builds"
    counter.write_text("-1")

    def builder(**arguments):
        builds = int(counter.read_text())
        counter.write_text(str(builds + 1))
        # The third trial cannot learn: learning rate 0.
        rate = 0.0 if builds == 2 else 3e-2
        return build_mlp_classifier(hidden_units=(4,), learning_rate=rate)

    frame = _run(
        tmp_path,
        builder=builder,
        space=dropout_space,
        epochs=3,
        fixed=None,
        median_stopping={"min_trials": 2, "grace_epochs": 1},
    )
    assert list(frame["status"]) == ["completed", "completed", "stopped_early"]
    stopped = frame.iloc[2]
    assert stopped["epochs"] == 1 and pd.isna(stopped["error"])
    trial = json.loads((tmp_path / "p" / "trial_2" / "trial.json").read_text())
    assert trial["status"] == "COMPLETED"


def test_interrupted_sweep_resumes_without_losing_or_repeating(tmp_path):
    runs = tmp_path / "runs"
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, callbacks=[_Counter(runs, 2)])
    before = trials_frame(tmp_path / "p")
    assert list(before["status"]) == ["completed", "running"]
    runs.unlink()
    after = _run(tmp_path, callbacks=[_Counter(runs)])
    assert list(after["trial_id"]) == ["0", "1", "2"]
    assert list(after["status"]) == ["completed"] * 3
    # The finished trial is kept as it was, not run again.
    for column in ["start", "end", "learning_rate", "best_val_loss"]:
        assert after[column][0] == before[column][0]
    assert runs.read_text() == "2"  # the interrupted trial and the last
    assert after.iloc[1]["learning_rate"] == before.iloc[1]["learning_rate"]


def test_same_seed_same_trials_including_zero(tmp_path):
    # keras-tuner alone would draw seed 0 as a random seed.
    first = _run(tmp_path / "a", max_trials=2, seed=0)
    second = _run(tmp_path / "b", max_trials=2, seed=0)
    for column in ["learning_rate", "dropout"]:
        assert list(first[column]) == list(second[column])
    # The training is seeded too: same initial weights, dropout masks and
    # batch order, so the same losses.
    for column in ["loss_epoch_1", "val_loss_epoch_2"]:
        np.testing.assert_allclose(first[column], second[column], rtol=1e-6)


def test_trial_seeds_differ_by_trial_and_are_checked(tmp_path):
    from toolkit.tuning.sweep import trial_seed

    assert [trial_seed(7, i) for i in ("00", "01", "12")] == [7, 8, 19]
    assert trial_seed(7, "chief-a") == trial_seed(7, "chief-a")
    assert trial_seed(7, "chief-a") != trial_seed(8, "chief-a")
    with pytest.raises(ValueError, match="`seed` must be None or an int"):
        _run(tmp_path, seed=1.5)
    with pytest.raises(ValueError, match="`seed` must be None or an int"):
        _run(tmp_path, seed=-1)


def test_hyperband_records_its_rounds(tmp_path):
    frame = _run(
        tmp_path, tuner="hyperband", epochs=2, space=learning_rate_space
    )
    assert set(frame["status"]) == {"completed"}
    assert {"tuner/epochs", "tuner/bracket"} <= set(frame.columns)
    assert (frame["epochs"] <= 2).all()


@pytest.mark.filterwarnings("ignore:The optimal value found for dimension")
def test_bayesian_sweep_fits_its_gaussian_process(tmp_path, monkeypatch):
    sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
    regressor = sklearn_gp.GaussianProcessRegressor
    fits = []
    original_fit = regressor.fit

    def counting_fit(self, x, y):
        fits.append(len(y))
        return original_fit(self, x, y)

    monkeypatch.setattr(regressor, "fit", counting_fit)
    # One random start, so trials 2 and 3 come from the Gaussian process.
    frame = _run(
        tmp_path,
        tuner="bayesian",
        tuner_options={"num_initial_points": 1},
    )
    assert list(frame["status"]) == ["completed"] * 3
    assert len(set(frame["learning_rate"])) == 3
    assert fits == [1, 2]  # fitted on the trials finished so far


SWEEP_ERRORS = [
    (
        ImportError,
        r'pip install "curriculum-toolkit\[bayesian\]"',
        lambda tmp, train: sweep(build_mlp_classifier, train, tuner="bayesian"),
    ),
    (
        ValueError,
        "`tuner` must be one of",
        lambda tmp, train: sweep(build_mlp_classifier, train, tuner="grid"),
    ),
    (
        ValueError,
        "`data` must be `\\(x, y\\)`",
        lambda tmp, train: sweep(build_mlp_classifier, train[0]),
    ),
    (
        ValueError,
        "`median_stopping` must be",
        lambda tmp, train: sweep(
            build_mlp_classifier, train, median_stopping=3, directory=tmp
        ),
    ),
    (
        ValueError,
        "`direction` must be one of",
        lambda tmp, train: MedianStopping("val_loss", "down", []),
    ),
]


@pytest.mark.parametrize(
    "error, match, call",
    SWEEP_ERRORS,
    ids=["bayesian_without_sklearn", "tuner", "data", "median", "direction"],
)
def test_errors(tmp_path, monkeypatch, error, match, call):
    import sys

    train, _ = _data()
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(error, match=match):
        call(tmp_path, train)


def test_sweep_tuner_on_its_own_takes_any_oracle(tmp_path):
    from toolkit.tuning import RecipeHyperModel, SweepTuner
    from toolkit.tuning.sweep import TUNERS

    # One module-level class per algorithm, each keras-tuner's own tuner.
    assert issubclass(TUNERS["hyperband"], keras_tuner.Hyperband)
    assert all(issubclass(c, SweepTuner) for c in TUNERS.values())
    hypermodel = RecipeHyperModel(
        build_mlp_classifier, learning_rate_space, fixed={"hidden_units": (4,)}
    )
    tuner = SweepTuner(
        hypermodel,
        oracle=keras_tuner.oracles.RandomSearchOracle(
            "val_loss", max_trials=2, seed=3
        ),
        training_seed=3,
        verbose=0,
        directory=tmp_path,
        project_name="own",
    )
    (x, y), validation = _data()
    tuner.search(
        x, y, validation_data=validation, epochs=2, batch_size=16, verbose=0
    )
    frame = trials_frame(tmp_path / "own")
    assert list(frame["status"]) == ["completed"] * 2
    assert list(frame["epochs"]) == [2, 2]
    assert {"val_loss_epoch_2", "best_val_loss"} <= set(frame.columns)
