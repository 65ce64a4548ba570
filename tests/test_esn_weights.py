"""Tests of the weights a user brings to `Reservoir` and `ESN`
(toolkit/layers/reservoir/_weights.py and the `*_initializer` arguments)."""

import keras
import numpy as np
import pytest

from tests import helpers
from tests.test_esn import numpy_esn, series
from tests.test_reservoir import numpy_reservoir
from toolkit.initializers import Sparse, SpectralRadius
from toolkit.layers import Reservoir
from toolkit.models import ESN


def test_default_draw_is_unchanged():
    # Golden sums of the draws and outputs of the code before the
    # `*_initializer` arguments existed (the NumPy references of
    # tests/test_reservoir.py and tests/test_esn.py prove them right).
    layer = Reservoir(
        20, spectral_radius=1.1, bias_scaling=0.5, feedback_dim=2,
        connectivity=0.3, seed=3,
    )  # fmt: skip
    layer.build((None, None, 2))
    golden = {
        "recurrent_kernel": 5369.832883080235,
        "kernel": 63.0,
        "bias": 54.51704121846706,
        "feedback_kernel": 136.0,
    }
    for name, value in golden.items():
        w = getattr(layer, name).numpy().astype("float64")
        weights = np.arange(1, w.size + 1).reshape(w.shape)
        assert np.sum(np.abs(w) * weights) == pytest.approx(value, 1e-12)
    x = np.sin(np.arange(200) * 0.3)[:, None].astype("f4")
    model = ESN(30, spectral_radius=1.2, leak_rate=0.4, seed=1)
    model.fit(x[:-1], x[1:], washout=10)
    assert model.predict(x[:50])[-1, 0] == 0.6501458905973146


def test_given_arrays_are_used_as_is():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 12)) * 0.2
    w_in = rng.standard_normal((3, 12))
    b = rng.uniform(-0.3, 0.3, 12)
    w_fb = rng.standard_normal((2, 12)) * 0.1
    layer = Reservoir(
        12,
        leak_rate=0.6,
        feedback_dim=2,
        recurrent_initializer=w,
        kernel_initializer=w_in,
        bias_initializer=b,
        feedback_initializer=w_fb,
        seed=0,
    )
    u = rng.standard_normal((2, 10, 3)).astype("float32")
    fb = rng.standard_normal((2, 10, 2)).astype("float32")
    got = np.asarray(layer(u, feedback=fb))
    for name, value in [
        ("recurrent_kernel", w), ("kernel", w_in), ("bias", b),
        ("feedback_kernel", w_fb),
    ]:  # fmt: skip
        np.testing.assert_array_equal(
            getattr(layer, name).numpy(), value.astype("float32")
        )
    # The NumPy loop with the given matrices themselves (not the layer's).
    x = np.zeros((2, 12))
    for t in range(10):
        pre = u[:, t] @ w_in + x @ w + b + fb[:, t] @ w_fb
        x = 0.4 * x + 0.6 * np.tanh(pre)
        np.testing.assert_allclose(got[:, t], x, atol=2e-5)


def test_keras_and_toolkit_initializers():
    init = SpectralRadius(0.8, Sparse(3, seed=1), seed=2)
    layer = Reservoir(
        20,
        recurrent_initializer=init,
        kernel_initializer="ones",
        bias_initializer=keras.initializers.Constant(0.1),
    )
    u = np.random.default_rng(1).standard_normal((1, 8, 2)).astype("f4")
    got = np.asarray(layer(u))
    w = layer.recurrent_kernel.numpy()
    np.testing.assert_allclose(w, np.asarray(init((20, 20))), atol=1e-7)
    radius = np.max(np.abs(np.linalg.eigvals(w.astype("float64"))))
    np.testing.assert_allclose(radius, 0.8, rtol=1e-5)  # used as is
    np.testing.assert_array_equal(layer.kernel.numpy(), 1.0)
    np.testing.assert_allclose(layer.bias.numpy(), 0.1)
    np.testing.assert_allclose(got, numpy_reservoir(layer, u), atol=2e-5)
    # An int seed re-seeds an initializer that takes one: same seed, same
    # matrix; another seed, another matrix.
    seeded = [
        Reservoir(10, recurrent_initializer="orthogonal", seed=s)
        for s in (4, 4, 5)
    ]
    for r in seeded:
        r.build((None, None, 1))
    a, b, c = (r.recurrent_kernel.numpy() for r in seeded)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.01


def test_config_records_initializers_and_given_arrays(tmp_path):
    w = np.random.default_rng(2).standard_normal((8, 8)) * 0.3
    layer = Reservoir(
        8, recurrent_initializer=w, kernel_initializer=Sparse(1, seed=0),
        seed=1,
    )  # fmt: skip
    config = layer.get_config()
    assert config["recurrent_initializer"] == "given"
    assert config["kernel_initializer"]["registered_name"] == "toolkit>Sparse"
    assert config["bias_initializer"] is None
    clone = helpers.assert_config_round_trip(layer)
    clone.build((None, None, 2))
    layer.build((None, None, 2))
    # From the config alone a given array starts at zeros; an initializer
    # draws the same matrix again.
    np.testing.assert_array_equal(clone.recurrent_kernel.numpy(), 0.0)
    np.testing.assert_array_equal(clone.kernel.numpy(), layer.kernel.numpy())
    # In a saved model the given array travels with the variables.
    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    u = np.random.default_rng(3).standard_normal((2, 9, 2)).astype("f4")
    loaded = helpers.assert_saves_and_loads(model, u, tmp_path, atol=0)
    np.testing.assert_array_equal(
        loaded.layers[1].recurrent_kernel.numpy(), w.astype("float32")
    )


def test_esn_passes_weights_on_per_reservoir(tmp_path):
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((10, 10)) * 0.25
    w1 = rng.standard_normal((6, 6)) * 0.25
    w_fb = rng.standard_normal((1, 10)) * 0.1
    model = ESN(
        [10, 6],
        feedback=True,
        recurrent_initializer=[w0, w1],
        kernel_initializer="glorot_uniform",
        feedback_initializer=w_fb,
        seed=0,
    )
    x, y = series(120)
    model.fit(x, y, washout=10)
    w = [r.recurrent_kernel.numpy() for r in model.reservoirs]
    np.testing.assert_array_equal(w[0], w0.astype("float32"))
    np.testing.assert_array_equal(w[1], w1.astype("float32"))
    np.testing.assert_array_equal(
        model.reservoirs[0].feedback_kernel.numpy(), w_fb.astype("float32")
    )
    config = model.get_config()
    assert config["recurrent_initializer"] == "given"  # the same for both
    assert config["feedback_initializer"] == "given"
    _, outputs, _, _ = numpy_esn(model, x[:40], free=True)
    np.testing.assert_allclose(model.predict(x[:40]), outputs, atol=1e-4)
    loaded = helpers.assert_saves_and_loads(model, x[None, :40], tmp_path)
    np.testing.assert_array_equal(loaded.predict(x[:40]), model.predict(x[:40]))


def test_layer_saved_without_a_leak_variable_still_loads():
    layer = Reservoir(6, leak_rate=0.3, seed=0)
    layer.build((None, None, 1))
    old = {str(i): w.numpy() * 2 for i, w in enumerate(layer.weights[:-1])}
    layer.load_own_variables(old)
    np.testing.assert_array_equal(layer.kernel.numpy(), old["1"])
    assert float(layer.leak.numpy()) == pytest.approx(0.3)


def _build(layer, features=2):
    layer.build((None, None, features))


WEIGHT_ERRORS = {
    "recurrent-shape": (
        lambda: Reservoir(5, recurrent_initializer=np.zeros((4, 4))),
        r"`recurrent_initializer` must be an array of shape \(5, 5\)",
    ),
    "bias-shape": (
        lambda: Reservoir(5, bias_initializer=np.zeros(3)),
        r"`bias_initializer` must be an array of shape \(5,\)",
    ),
    "kernel-shape": (
        lambda: _build(Reservoir(5, kernel_initializer=np.zeros((3, 5)))),
        r"`kernel_initializer` must be an array of shape \(2, 5\)",
    ),
    "feedback-shape": (
        lambda: Reservoir(
            5, feedback_dim=2, feedback_initializer=np.zeros((1, 5))
        ),
        r"`feedback_initializer` must be an array of shape \(2, 5\)",
    ),
    "feedback-without-dim": (
        lambda: Reservoir(5, feedback_initializer="ones"),
        "`feedback_initializer` needs `feedback_dim`",
    ),
    "not-finite": (
        lambda: Reservoir(2, recurrent_initializer=np.full((2, 2), np.nan)),
        "`recurrent_initializer` must hold finite values",
    ),
    "unknown-name": (
        lambda: Reservoir(2, kernel_initializer="nope"),
        "`kernel_initializer` must be a Keras initializer",
    ),
    "not-an-array": (
        lambda: Reservoir(2, bias_initializer=object()),
        "`bias_initializer` must be None, an array or a Keras",
    ),
    "esn-feedback": (
        lambda: ESN(4, feedback_initializer="ones"),
        "`feedback_initializer` needs `feedback=True`",
    ),
    "esn-list-length": (
        lambda: ESN([4, 3], recurrent_initializer=["orthogonal"]),
        r"one per reservoir \(2\). Received a list of 1",
    ),
}


@pytest.mark.parametrize(
    "make, match", WEIGHT_ERRORS.values(), ids=WEIGHT_ERRORS.keys()
)
def test_weight_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_deep_config_lists_differing_initializers_and_round_trips():
    model = ESN([8, 6], recurrent_initializer=[None, "orthogonal"], seed=0)
    config = model.get_config()
    assert config["recurrent_initializer"][0] is None
    assert config["recurrent_initializer"][1]["class_name"] == "Orthogonal"
    clone = ESN.from_config(config)
    assert clone.get_config() == config
    x, y = series(60)
    model.fit(x, y)
    clone.fit(x, y)
    np.testing.assert_array_equal(model.predict(x), clone.predict(x))
    fresh = ESN.from_config(config)
    fresh(x[None, :5].astype("float32"))
    fresh.set_weights(model.get_weights())  # marks the readout fitted
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))
