import math

import keras
import numpy as np
import pytest

from toolkit.training import (
    CyclicalLearningRate,
    MomentumScheduler,
    OneCycle,
    OneCycleMomentum,
)


def _values(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


def _clr_reference(step, low, high, size, mode, gamma=1.0):
    # Smith (2017), section 3.1, written out per step.
    cycle = math.floor(1 + step / (2 * size))
    x = abs(step / size - 2 * cycle + 1)
    scale = {
        "triangular": 1.0,
        "triangular2": 1 / 2 ** (cycle - 1),
        "exp_range": gamma**step,
    }[mode]
    return low + (high - low) * max(0.0, 1 - x) * scale


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclical_matches_the_paper(mode):
    schedule = CyclicalLearningRate(
        1e-3, 6e-3, step_size=4, mode=mode, gamma=0.97
    )
    steps = range(25)
    expected = [_clr_reference(s, 1e-3, 6e-3, 4, mode, 0.97) for s in steps]
    np.testing.assert_allclose(_values(schedule, steps), expected, rtol=1e-5)


def test_triangular_shape():
    schedule = CyclicalLearningRate(0.1, 0.5, step_size=2)
    np.testing.assert_allclose(
        _values(schedule, range(9)),
        [0.1, 0.3, 0.5, 0.3, 0.1, 0.3, 0.5, 0.3, 0.1],
        rtol=1e-6,
    )
    # Inverse cycling (e.g. momentum): the bounds swap roles.
    inverse = CyclicalLearningRate(0.95, 0.85, step_size=2)
    np.testing.assert_allclose(
        _values(inverse, [0, 2, 4]), [0.95, 0.85, 0.95], rtol=1e-6
    )


@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_closed_form(anneal):
    schedule = OneCycle(
        0.1,
        total_steps=100,
        warmup_fraction=0.25,
        initial_div=10.0,
        final_div=100.0,
        anneal=anneal,
    )
    momentum = schedule.momentum_schedule(0.95, 0.85)
    start, end = 0.01, 1e-4

    def interp(a, b, p):
        if anneal == "linear":
            return a + (b - a) * p
        return b + (a - b) * (1 + math.cos(math.pi * p)) / 2

    steps = [0, 10, 25, 50, 75, 100, 130]
    lr = [
        interp(start, 0.1, s / 25)
        if s <= 25
        else interp(0.1, end, min(1.0, (s - 25) / 75))
        for s in steps
    ]
    mom = [
        interp(0.95, 0.85, s / 25)
        if s <= 25
        else interp(0.85, 0.95, min(1.0, (s - 25) / 75))
        for s in steps
    ]
    np.testing.assert_allclose(
        _values(schedule, steps), lr, rtol=1e-5, atol=1e-8
    )
    np.testing.assert_allclose(_values(momentum, steps), mom, rtol=1e-5)
    # Peak exactly at the end of the warm-up; far below the start at the end.
    assert float(schedule(25)) == pytest.approx(0.1)
    assert float(schedule(100)) == pytest.approx(end)


@pytest.mark.parametrize(
    "schedule",
    [
        CyclicalLearningRate(1e-3, 1e-2, 5, mode="exp_range", gamma=0.99),
        OneCycle(0.3, 50, warmup_fraction=0.4, anneal="linear"),
        OneCycleMomentum(50, maximal_momentum=0.9, minimal_momentum=0.8),
    ],
)
def test_config_round_trip_and_save(schedule, tmp_path):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(schedule)
    assert serialized["registered_name"].startswith("toolkit>")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule), "mse")
    x = np.ones((8, 2), "float32")
    model.fit(x, np.ones((8, 1), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    restored = loaded.optimizer._learning_rate
    assert type(restored) is type(schedule)
    np.testing.assert_allclose(
        _values(restored, range(12)), _values(schedule, range(12)), rtol=1e-6
    )
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


class _ReadMomentum(keras.callbacks.Callback):
    """Reads the value the optimizer actually uses inside the step: the
    momentum slot of SGD after one update from zero equals -lr * g, and
    the next update is m * momentum - lr * g, so we record the attribute's
    value as the compiled step sees it."""

    def __init__(self, attribute):
        super().__init__()
        self.attribute = attribute
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        value = getattr(self.model.optimizer, self.attribute)
        self.seen.append(float(keras.ops.convert_to_numpy(value)))


def _momentum_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype("float32")
    return x, (x @ np.ones((3, 1))).astype("float32")


def test_sgd_momentum_really_changes_inside_fit():
    # Reference: the SGD-with-momentum update written in NumPy with the
    # scheduled momentum; a baked-in constant momentum gives other weights.
    x, y = _momentum_data()
    schedule = CyclicalLearningRate(0.9, 0.1, step_size=2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    kernel, bias = [w.numpy().astype("float64") for w in model.weights]
    slots = [
        v.numpy().astype("float64")
        for v in model.optimizer.variables
        if "momentum" in v.path
    ]
    start = int(model.optimizer.iterations.numpy())
    scheduler = MomentumScheduler(schedule)
    spy = _ReadMomentum("momentum")
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[scheduler, spy],
    )
    expected_momenta = [float(schedule(start + i)) for i in range(5)]
    np.testing.assert_allclose(scheduler.values, expected_momenta, rtol=1e-6)
    np.testing.assert_allclose(spy.seen, expected_momenta, rtol=1e-6)
    m_kernel, m_bias = slots
    for i, momentum in enumerate(expected_momenta):
        xb, yb = x[8 * i : 8 * i + 8], y[8 * i : 8 * i + 8]
        error = xb @ kernel + bias - yb
        m_kernel = momentum * m_kernel - 0.05 * 2 * xb.T @ error / 8
        m_bias = momentum * m_bias - 0.05 * 2 * error.mean(axis=0)
        kernel, bias = kernel + m_kernel, bias + m_bias
    np.testing.assert_allclose(model.weights[0].numpy(), kernel, rtol=1e-4)
    np.testing.assert_allclose(model.weights[1].numpy(), bias, rtol=1e-4)
    # A float is back after fit, so the optimizer still serializes.
    assert isinstance(model.optimizer.momentum, float)
    assert model.optimizer.get_config()["momentum"] == pytest.approx(
        expected_momenta[-1]
    )


def test_adam_beta_1_really_changes_inside_fit():
    x, y = _momentum_data()
    schedule = OneCycleMomentum(
        10,
        warmup_fraction=0.5,
        maximal_momentum=0.95,
        minimal_momentum=0.5,
        anneal="linear",
    )

    def train(callbacks):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.05, beta_1=0.95), "mse")
        model.fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )
        return model

    spy = _ReadMomentum("beta_1")
    scheduled = train([MomentumScheduler(schedule), spy])
    np.testing.assert_allclose(
        spy.seen, _values(schedule, range(10)), rtol=1e-6
    )
    # NumPy Adam with the scheduled beta_1 (and beta_1 ** t as Keras does).
    keras.utils.set_random_seed(3)
    reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    params = [w.numpy().astype("float64") for w in reference.weights]
    m = [np.zeros_like(p) for p in params]
    s = [np.zeros_like(p) for p in params]
    for t in range(10):
        b1 = float(schedule(t))
        xb, yb = (
            x[8 * (t % 5) : 8 * (t % 5) + 8],
            y[8 * (t % 5) : 8 * (t % 5) + 8],
        )
        error = xb @ params[0] + params[1] - yb
        grads = [2 * xb.T @ error / 8, 2 * error.mean(axis=0)]
        alpha = 0.05 * np.sqrt(1 - 0.999 ** (t + 1)) / (1 - b1 ** (t + 1))
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * (1 - b1)
            s[i] = s[i] + (g**2 - s[i]) * (1 - 0.999)
            params[i] = params[i] - alpha * m[i] / (np.sqrt(s[i]) + 1e-7)
    np.testing.assert_allclose(
        scheduled.weights[0].numpy(), params[0], rtol=1e-4, atol=1e-6
    )
    constant = train([])
    assert not np.allclose(
        constant.weights[0].numpy(), params[0], rtol=1e-4, atol=1e-6
    )


SCHEDULE_ERRORS = {
    "`step_size` must be a positive": lambda: CyclicalLearningRate(
        0.1, 1.0, step_size=0
    ),
    "`mode` must be one of": lambda: CyclicalLearningRate(
        0.1, 1.0, 10, mode="sine"
    ),
    "`gamma` must be a number": lambda: CyclicalLearningRate(
        0.1, 1.0, 10, gamma=0.0
    ),
    "`initial_learning_rate` must": lambda: CyclicalLearningRate(-0.1, 1.0, 10),
    "`maximal_learning_rate` must": lambda: OneCycle(0.0, 100),
    "`total_steps` must be at least 2": lambda: OneCycle(0.1, 1),
    "`warmup_fraction` must be": lambda: OneCycle(
        0.1, 100, warmup_fraction=1.0
    ),
    "`initial_div` must be": lambda: OneCycle(0.1, 100, initial_div=0.5),
    "`anneal` must be one of": lambda: OneCycleMomentum(100, anneal="step"),
    "`minimal_momentum` must be": lambda: OneCycleMomentum(
        100, maximal_momentum=0.8, minimal_momentum=0.9
    ),
    "`schedule` must be callable": lambda: MomentumScheduler(0.9),
}


@pytest.mark.parametrize("match", list(SCHEDULE_ERRORS))
def test_errors(match):
    with pytest.raises(ValueError, match=match):
        SCHEDULE_ERRORS[match]()


@pytest.mark.parametrize(
    "optimizer, match",
    [
        (lambda: keras.optimizers.RMSprop(0.01), "needs SGD"),
        (lambda: keras.optimizers.SGD(0.01), "momentum=0.0"),
    ],
    ids=["rmsprop", "sgd_without_momentum"],
)
def test_momentum_scheduler_refuses_optimizers_without_momentum(
    optimizer, match
):
    x, y = _momentum_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer(), "mse")
    with pytest.raises(ValueError, match=match):
        model.fit(
            x,
            y,
            verbose=0,
            callbacks=[MomentumScheduler(OneCycleMomentum(10))],
        )
