import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.training import (
    LRRangeTest,
    LRRangeTestResult,
    auto_smoothing,
    lr_range_test,
    suggest_learning_rates,
)


def _regression_data(n=48, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    y = (x @ rng.standard_normal((features, 1)) + 0.5).astype("float32")
    return x, y


def _linear_model(features=3, optimizer=None):
    model = keras.Sequential(
        [keras.Input((features,)), keras.layers.Dense(1, name="dense")]
    )
    model.compile(optimizer or keras.optimizers.SGD(0.01), loss="mse")
    return model


def test_learning_rates_follow_the_sweep():
    finder = LRRangeTest(min_lr=1e-4, max_lr=1.0, steps=5)
    np.testing.assert_allclose(
        [finder.learning_rate_at(i) for i in range(5)],
        [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
        rtol=1e-12,
    )
    linear = LRRangeTest(min_lr=0.1, max_lr=0.5, steps=5, mode="linear")
    np.testing.assert_allclose(
        [linear.learning_rate_at(i) for i in range(5)],
        [0.1, 0.2, 0.3, 0.4, 0.5],
        rtol=1e-12,
    )


def test_recorded_loss_is_each_batch_loss_not_the_running_mean():
    # Reference: plain SGD on linear regression written in NumPy, batch by
    # batch, with the sweep's learning rate. Two epochs cross the point
    # where Keras resets its running mean.
    x, y = _regression_data(n=32)
    model = _linear_model()
    kernel, bias = [w.numpy().astype("float64") for w in model.weights]
    finder = LRRangeTest(
        min_lr=1e-3,
        max_lr=0.3,
        steps=8,
        smoothing=0.98,
        divergence_threshold=1e6,
    )
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[finder],
    )
    expected = []
    for step in range(8):
        rows = slice((step % 4) * 8, (step % 4) * 8 + 8)
        xb, yb = x[rows].astype("float64"), y[rows].astype("float64")
        error = xb @ kernel + bias - yb
        expected.append(float(np.mean(error**2)))
        lr = finder.learning_rate_at(step)
        kernel -= lr * 2 * xb.T @ error / len(xb)
        bias -= lr * 2 * error.mean(axis=0)
    np.testing.assert_allclose(
        finder.lrs, [finder.learning_rate_at(i) for i in range(8)]
    )
    np.testing.assert_allclose(finder.losses, expected, rtol=1e-4)
    # Bias-corrected moving average, recomputed here.
    average, smoothed = 0.0, []
    for i, loss in enumerate(expected):
        average = 0.98 * average + 0.02 * loss
        smoothed.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(finder.smoothed_losses, smoothed, rtol=1e-4)


def _state(model):
    return (
        [v.numpy().copy() for v in model.variables],
        [v.numpy().copy() for v in model.optimizer.variables],
        float(model.optimizer.learning_rate.numpy()),
    )


@pytest.mark.filterwarnings("ignore:The LR range test's loss was still")
def test_model_and_optimizer_are_restored_exactly():
    x = np.random.default_rng(1).standard_normal((64, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    weights, slots, lr = _state(model)
    iterations = int(model.optimizer.iterations.numpy())
    result = lr_range_test(
        model, x, y, batch_size=16, steps=6, min_lr=1e-4, max_lr=1e-1
    )
    assert result.steps == 6
    after_weights, after_slots, after_lr = _state(model)
    assert after_lr == lr
    assert int(model.optimizer.iterations.numpy()) == iterations
    for before, after in zip(weights + slots, after_weights + after_slots):
        np.testing.assert_array_equal(before, after)
    # The model trains on as it would have.
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)


def test_fresh_optimizer_stays_fresh():
    x, y = _regression_data()
    model = _linear_model(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    weights, _, lr = _state(model)
    lr_range_test(model, x, y, batch_size=8, steps=5)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(lr)
    assert int(model.optimizer.iterations.numpy()) == 0
    for before, after in zip(weights, _state(model)[0]):
        np.testing.assert_array_equal(before, after)
    for slot in model.optimizer.variables:
        if "momentum" in slot.path:
            np.testing.assert_array_equal(slot.numpy(), 0.0)


def test_dataset_input_and_divergence_stop():
    x, y = _regression_data(n=40)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(
        8, drop_remainder=True
    )
    model = _linear_model()
    result = lr_range_test(model, dataset, steps=60, min_lr=1e-4, max_lr=100.0)
    # A linear model with lr 100 diverges long before 60 steps.
    assert 3 <= result.steps < 60
    history = result.history
    assert list(history.columns) == ["lr", "loss", "smoothed_loss"]
    last = history["smoothed_loss"].iloc[-1]
    best = history["smoothed_loss"].iloc[:-1].min()
    assert not np.isfinite(last) or last > 4.0 * best
    assert set(result.suggestions) == set(LRRangeTestResult.RULES)
    assert result.rule == "minimum_tenth"
    assert result.suggestion == result.suggestions["minimum_tenth"]


def test_suggestions_on_a_known_curve():
    lrs = np.logspace(-5, 0, 101)
    log = np.log10(lrs)
    # Falls fastest at lr = 1e-2, lowest near 10**-1.4, then rises.
    losses = 2.0 - np.tanh(3 * (log + 2)) + 2.0 * np.maximum(0, log + 1.4)
    found = suggest_learning_rates(lrs, losses)
    assert found["steepest"] == pytest.approx(1e-2, rel=0.13)
    # The minimum is the kink at 10**-1.4 (slope -0.3 before, +1.7 after
    # per unit of log10 lr); the vertex stays within half a grid step.
    lowest = 10**-1.4
    assert found["minimum_tenth"] == pytest.approx(lowest / 10, rel=0.06)
    assert 1e-5 < found["valley"] < lowest
    with pytest.raises(ValueError, match="fewer than 3 finite losses"):
        suggest_learning_rates([1e-3, 1e-2, 1e-1], [1.0, np.nan, np.nan])


def test_valley_is_the_middle_of_the_descent_despite_a_noisy_start():
    # Flat at 3 (plus noise) up to lr 1e-4, falling 1 per decade to 1 at
    # 1e-2, then rising. The descent starts, by the rule's tenth-of-the-drop
    # threshold (top 3 + noise, minimum 1), at about 10**-3.8; its middle
    # in log(lr) is about 10**-2.9, whatever the noise does on the flat.
    lrs = np.logspace(-6, 0, 241)
    log = np.log10(lrs)
    noise = 0.02 * np.random.default_rng(0).standard_normal(len(lrs))
    losses = np.where(
        log < -4,
        3.0 + noise,
        np.where(log < -2, 3.0 - (log + 4), 1.0 + 3 * (log + 2)),
    )
    found = suggest_learning_rates(lrs, losses)
    top = losses[: np.argmin(losses) + 1].max()
    start = -4 + (3.0 - top) + 0.1 * (top - 1.0)
    expected = 10 ** (0.5 * (start + -2))
    assert found["valley"] == pytest.approx(expected, rel=0.06)
    # The minimum is the kink at 1e-2 between slopes -1 and +3 per unit
    # of log10 lr; the parabola through it and its neighbours (step h)
    # has its vertex h / 4 to the left: 1 + h, 1, 1 + 3h gives
    # -h (3h - h) / (2 (3h - 2 * 0 + h)) = -h / 4.
    h = 6 / 240
    assert found["minimum_tenth"] == pytest.approx(10 ** (-2 - h / 4) / 10)


def test_minimum_tenth_finds_the_minimum_between_recorded_points():
    # A loss quadratic in log(lr) around lr* = 0.037, which no recorded
    # learning rate hits: the parabola through the three lowest points is
    # the curve itself, so the vertex is exact.
    lrs = np.logspace(-4, 1, 61)
    best = np.log(0.037)
    losses = 1.0 + 0.2 * (np.log(lrs) - best) ** 2
    assert not np.isclose(lrs, 0.037, rtol=1e-3).any()
    found = suggest_learning_rates(lrs, losses)
    assert found["minimum_tenth"] == pytest.approx(0.0037, rel=1e-9)
    # Upside down (only a maximum inside): no vertex, the lowest point.
    found = suggest_learning_rates(lrs[25:35], -losses[25:35])
    assert found["minimum_tenth"] == pytest.approx(lrs[25] / 10)
    # A linear sweep is not evenly spaced in log(lr): the lowest point.
    linear = np.linspace(0.01, 0.1, 19)
    found = suggest_learning_rates(linear, 1.0 + (np.log(linear) - best) ** 2)
    lowest = linear[np.argmin(np.abs(np.log(linear) - best))]
    assert found["minimum_tenth"] == pytest.approx(lowest / 10)


def test_default_rule_and_warnings_when_the_edge_is_not_seen():
    lrs = np.logspace(-4, 0, 41)
    x = np.log10(lrs)
    falling = 2.0 - 0.3 * (x + 4)
    with pytest.warns(UserWarning, match="suggestions are lower bounds"):
        result = LRRangeTestResult(lrs, falling, falling)
    assert result.suggestion == pytest.approx(lrs[-1] / 10)
    with pytest.warns(UserWarning, match="lower `min_lr`"):
        LRRangeTestResult(lrs, -falling, -falling)
    # Falling until the loss turned NaN: the blow-up was seen, no warning.
    blown = falling.copy()
    blown[-5:] = np.nan
    valley = 1.0 + (x + 2) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = LRRangeTestResult(lrs, blown, blown)
        assert result.suggestion == pytest.approx(lrs[-6] / 10)
        result = LRRangeTestResult(lrs, valley, valley)
    assert result.rule == "minimum_tenth"
    assert result.suggestion == pytest.approx(1e-3)


def test_auto_smoothing_follows_the_sweep_length():
    # A span-w average: beta = 1 - 2 / (w + 1), w = steps / 10.
    assert auto_smoothing(100) == pytest.approx(1 - 2 / 11)
    assert auto_smoothing(400) == pytest.approx(1 - 2 / 41)
    assert auto_smoothing(8) == 0.0
    assert LRRangeTest(steps=250).smoothing == pytest.approx(1 - 2 / 26)
    assert LRRangeTest(steps=250, smoothing=0.5).smoothing == 0.5
    # Its lag on a loss falling linearly with the step is (w - 1) / 2
    # steps (closed form of an average beta/(1-beta) behind), i.e. 5% of
    # the sweep minus half a step, far less than 0.98's 49 steps.
    steps = 400
    beta = auto_smoothing(steps)
    average = 0.0
    for i in range(steps):
        average = beta * average + (1 - beta) * (1000.0 - i)
    smoothed = average / (1 - beta**steps)
    lag = smoothed - (1000.0 - (steps - 1))
    assert lag == pytest.approx((0.1 * steps - 1) / 2, rel=1e-6)
    with pytest.raises(ValueError, match='`smoothing` must be "auto"'):
        LRRangeTest(smoothing="fast")
    with pytest.raises(ValueError, match="`fraction` must be"):
        auto_smoothing(10, fraction=0.0)


def test_plot_marks_suggestions(tmp_path):
    pytest.importorskip("matplotlib")
    lrs = np.logspace(-4, 0, 30)
    losses = 1.0 + (np.log10(lrs) + 2) ** 2
    result = LRRangeTestResult(lrs, losses, losses, rule="steepest")
    ax = result.plot(path=tmp_path / "range.png")
    assert (tmp_path / "range.png").stat().st_size > 0
    assert len(ax.lines) == 2 + 3
    assert "steepest" in repr(result)


@pytest.mark.filterwarnings("ignore:The LR range test's loss was still")
def test_steps_per_execution_is_run_one_batch_at_a_time_and_restored():
    # Keras calls callbacks only every N batches with N steps per
    # execution: the test runs one batch per execution and records the
    # same curve as a model compiled with N = 1, then puts N back.
    x, y = _regression_data(n=64)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    results = []
    for steps_per_execution in (1, 4):
        model = _linear_model()
        model.set_weights([np.full((3, 1), 0.1), np.zeros(1)])
        model.compile(
            keras.optimizers.SGD(0.01),
            "mse",
            steps_per_execution=steps_per_execution,
        )
        result = lr_range_test(model, dataset, min_lr=1e-3, max_lr=0.5, steps=8)
        assert model.steps_per_execution == steps_per_execution
        if steps_per_execution == 1:
            # The compiled step is kept for training (no second trace).
            compiled = model.train_function
            assert compiled is not None
            lr_range_test(model, dataset, min_lr=1e-3, max_lr=0.5, steps=8)
            assert model.train_function is compiled
        else:  # the model's own (not yet compiled) function comes back
            assert model.train_function is None
        results.append(result.history)
    assert len(results[1]) == 8
    np.testing.assert_allclose(
        results[1].to_numpy(), results[0].to_numpy(), rtol=1e-6
    )
    # The model still trains N batches per execution afterwards.
    model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    assert model.steps_per_execution == 4


def test_range_test_callback_refuses_steps_per_execution():
    x, y = _regression_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution=2"):
        model.fit(x, y, verbose=0, callbacks=[LRRangeTest(steps=4)])


def _scheduled_model():
    scheduled = keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    )
    return _linear_model(optimizer=scheduled)


def _batches():
    x, y = _regression_data()
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


RANGE_TEST_ERRORS = {
    "not a `LearningRateSchedule`": lambda x, y: lr_range_test(
        _scheduled_model(), x, y, steps=4
    ),
    "must be compiled": lambda x, y: lr_range_test(
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), x, y
    ),
    "pass neither `y` nor": lambda x, y: lr_range_test(
        _linear_model(), _batches(), y
    ),
    "must not exceed the number": lambda x, y: lr_range_test(
        _linear_model(), x, y, batch_size=1000
    ),
    "`rule` must be one of": lambda x, y: lr_range_test(
        _linear_model(), x, y, rule="best"
    ),
    "`min_lr` must be a number": lambda x, y: LRRangeTest(min_lr=0.0),
    "`max_lr` must be larger": lambda x, y: LRRangeTest(min_lr=1.0, max_lr=0.1),
    "`steps` must be at least 2": lambda x, y: LRRangeTest(steps=1),
    "`mode` must be one of": lambda x, y: LRRangeTest(mode="cosine"),
    "`smoothing` must be a number": lambda x, y: LRRangeTest(smoothing=1.0),
    "`divergence_threshold` must be": lambda x, y: LRRangeTest(
        divergence_threshold=1.0
    ),
}


@pytest.mark.parametrize("match", list(RANGE_TEST_ERRORS))
def test_errors(match):
    x, y = _regression_data()
    with pytest.raises(ValueError, match=match):
        RANGE_TEST_ERRORS[match](x, y)
