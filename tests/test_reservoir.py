"""Tests of toolkit.layers.reservoir.reservoir and .ridge."""

import keras
import numpy as np
import pytest

from tests import helpers
from toolkit.layers import Reservoir
from toolkit.layers.reservoir import RidgeRegression
from toolkit.layers.reservoir import reservoir as reservoir_module


def numpy_reservoir(layer, u, x0=None, feedback=None):
    """The notes' update, written out step by step in NumPy (float64):
    x_t = (1 - a) x_{t-1} + a tanh(u_t W_in + x_{t-1} W + y_{t-1} W_fb + b).
    """
    w_in = layer.kernel.numpy().astype("float64")
    w = layer.recurrent_kernel.numpy().astype("float64")
    b = layer.bias.numpy().astype("float64")
    a = layer.leak_rate
    batch, steps, _ = u.shape
    x = np.zeros((batch, layer.units)) if x0 is None else x0.copy()
    out = np.zeros((batch, steps, layer.units))
    for t in range(steps):
        pre = u[:, t] @ w_in + x @ w + b
        if feedback is not None:
            pre += feedback[:, t] @ layer.feedback_kernel.numpy()
        x = (1 - a) * x + a * np.tanh(pre)
        out[:, t] = x
    return out


def test_states_match_numpy_loop_with_feedback_bias_and_initial_state():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2, 15, 3)).astype("float32")
    fb = rng.standard_normal((2, 15, 2)).astype("float32")
    x0 = rng.uniform(-0.5, 0.5, (2, 24)).astype("float32")
    layer = Reservoir(
        24,
        spectral_radius=1.1,
        leak_rate=0.4,
        input_scaling=0.7,
        bias_scaling=0.5,
        connectivity=0.3,
        input_connectivity=0.5,
        feedback_dim=2,
        feedback_scaling=0.3,
        seed=5,
    )
    got = layer(u, initial_state=x0, feedback=fb)
    expected = numpy_reservoir(layer, u, x0.astype("float64"), fb)
    assert tuple(got.shape) == (2, 15, 24)
    np.testing.assert_allclose(np.asarray(got), expected, atol=2e-5)


def test_plain_states_match_numpy_loop():
    u = np.random.default_rng(1).standard_normal((3, 20, 1)).astype("f4")
    layer = Reservoir(30, spectral_radius=1.25, leak_rate=0.3, seed=0)
    got = np.asarray(layer(u))
    expected = numpy_reservoir(layer, u)
    np.testing.assert_allclose(got, expected, atol=2e-5)


@pytest.mark.parametrize("units, connectivity", [(60, 0.2), (300, 0.05)])
def test_measured_spectral_radius_matches_request(units, connectivity):
    layer = Reservoir(
        units, spectral_radius=1.25, connectivity=connectivity, seed=2
    )
    layer.build((None, None, 1))
    w = layer.recurrent_kernel.numpy().astype("float64")
    measured = np.max(np.abs(np.linalg.eigvals(w)))  # exact, dense
    np.testing.assert_allclose(measured, 1.25, rtol=1e-5)
    assert np.count_nonzero(w) == round(connectivity * units * units)


def test_input_weights_are_signed_sparse_and_every_input_is_connected():
    layer = Reservoir(
        200, input_scaling=0.5, input_connectivity=0.1, seed=0
    )  # fmt: skip
    layer.build((None, None, 4))
    w_in = layer.kernel.numpy()
    assert set(np.unique(w_in)) <= {-0.5, 0.0, 0.5}
    assert np.count_nonzero(w_in) == round(0.1 * 4 * 200)  # exactly
    assert np.all((w_in != 0).any(axis=1))
    # Too sparse to reach every input: one more non-zero for each one left.
    sparse = Reservoir(10, input_connectivity=0.01, seed=0)
    sparse.build((None, None, 3))
    w_in = sparse.kernel.numpy()
    assert np.all((w_in != 0).any(axis=1))
    assert np.count_nonzero(w_in) == 3
    np.testing.assert_array_equal(layer.bias.numpy(), 0.0)  # bias_scaling 0


def test_weights_are_fixed_counted_and_seeded():
    layer = Reservoir(10, feedback_dim=2, seed=1)
    layer.build((None, None, 3))
    assert layer.trainable_weights == []
    # W_in, W, b, W_fb and the leak rate (a scalar variable, see redraw).
    assert helpers.count_params(layer) == 3 * 10 + 10 * 10 + 10 + 2 * 10 + 1
    same = Reservoir(10, feedback_dim=2, seed=1)
    same.build((None, None, 3))
    other = Reservoir(10, feedback_dim=2, seed=2)
    other.build((None, None, 3))
    for a, b, c in zip(layer.weights, same.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    diff = layer.recurrent_kernel.numpy() - other.recurrent_kernel.numpy()
    assert np.abs(diff).max() > 0


def test_config_round_trip():
    layer = Reservoir(
        7, spectral_radius=0.8, leak_rate=0.5, activation="relu", seed=3
    )
    clone = helpers.assert_config_round_trip(layer)
    assert clone.trainable is False and clone.seed == 3


def test_saves_and_loads_in_a_model(tmp_path):
    inputs = keras.Input((None, 2))
    states = Reservoir(12, leak_rate=0.5, bias_scaling=0.2, seed=0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(states))
    x = np.random.default_rng(0).standard_normal((2, 9, 2)).astype("f4")
    helpers.assert_saves_and_loads(model, x, tmp_path)


def test_fit_step_trains_readout_only_unless_reservoir_made_trainable():
    x = np.random.default_rng(0).standard_normal((4, 10, 2)).astype("f4")
    y = np.random.default_rng(1).standard_normal((4, 10, 1)).astype("f4")
    reservoir = Reservoir(8, seed=0)
    model = keras.Sequential(
        [keras.Input((10, 2)), reservoir, keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    fixed = [w.numpy().copy() for w in reservoir.weights]
    helpers.assert_fit_step_changes_weights(model, x, y)
    for before, weight in zip(fixed, reservoir.weights):
        np.testing.assert_array_equal(before, weight.numpy())
    reservoir.trainable = True
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert len(model.trainable_weights) == 5
    helpers.assert_fit_step_changes_weights(model, x, y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spectral_radius": 0.0}, "`spectral_radius` must be a number in"),
        ({"spectral_radius": -1}, "`spectral_radius` must be a number in"),
        (
            {"spectral_radius": float("inf")},
            r"`spectral_radius` must be a number in \(0, inf\)",
        ),
        ({"leak_rate": 0.0}, r"`leak_rate` must be a number in \(0, 1\]"),
        ({"leak_rate": 1.5}, r"Received: leak_rate=1.5"),
        ({"connectivity": 0}, r"`connectivity` must be a number in \(0, 1"),
        ({"connectivity": 1.2}, "Received: connectivity=1.2"),
        ({"input_connectivity": 0}, "`input_connectivity` must be"),
        ({"input_scaling": 0}, "`input_scaling` must be a number in"),
        ({"bias_scaling": -1}, "`bias_scaling` must be a number in"),
        ({"feedback_dim": 0}, "`feedback_dim` must be a positive"),
        ({"feedback_scaling": 0}, "`feedback_scaling` must be a number"),
        ({"activation": "nope"}, "`activation` must be the name"),
        ({"seed": 1.5}, "`seed` must be None or an int"),
        ({"seed": -1}, r"`seed` must be None or an int >= 0.*seed=-1"),
        ({"seed": np.int64(-1)}, r"`seed` must be None or an int >= 0"),
        ({"spectral_radius": np.float64("inf")}, "`spectral_radius` must"),
        ({"spectral_radius": float("nan")}, "`spectral_radius` must"),
        ({"leak_rate": float("nan")}, "`leak_rate` must"),
        ({"input_scaling": float("inf")}, r"`input_scaling` .*\(0, inf\)"),
        ({"bias_scaling": float("inf")}, r"`bias_scaling` .*\[0, inf\)"),
        ({"feedback_scaling": float("inf")}, "`feedback_scaling` must"),
        (
            {"recurrent_initializer": np.full((5, 5), 1e39)},
            "`recurrent_initializer` must hold values within the float32",
        ),
    ],
)
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Reservoir(**{"units": 5, **kwargs})


def test_units_error():
    with pytest.raises(ValueError, match="`units` must be a positive"):
        Reservoir(0)


def test_feedback_must_match_feedback_dim():
    x = np.zeros((1, 3, 2), "float32")
    with pytest.raises(ValueError, match="`feedback` call argument"):
        Reservoir(4, feedback_dim=1, seed=0)(x)
    with pytest.raises(ValueError, match="`feedback` call argument"):
        Reservoir(4, seed=0)(x, feedback=np.zeros((1, 3, 1), "float32"))


def test_unknown_feature_count_is_refused():
    with pytest.raises(ValueError, match="known number of input features"):
        Reservoir(4, seed=0).build((None, None, None))


def test_matrix_without_cycle_cannot_be_rescaled():
    # One non-zero weight off the diagonal: nilpotent, spectral radius 0.
    seeds = [
        s
        for s in range(50)
        if _single_entry_is_off_diagonal(Reservoir(10, 0.9, seed=s))
    ]
    layer = Reservoir(10, connectivity=0.01, seed=seeds[0])
    with pytest.raises(ValueError, match="has spectral radius 0"):
        layer.build((None, None, 1))


def _single_entry_is_off_diagonal(layer):
    rng = np.random.default_rng(layer._generator_seed)
    flat = rng.choice(100, size=1, replace=False)[0]
    return flat // 10 != flat % 10


# Ridge regression ---------------------------------------------------------


def reference_ridge(x, y, ridge):
    """Ridge with an unpenalised bias as an augmented least-squares problem:
    minimise ||[X 1] [W; b] - Y||^2 + ||[sqrt(ridge) I 0] [W; b]||^2."""
    n, d = x.shape
    top = np.hstack([x, np.ones((n, 1))])
    bottom = np.hstack([np.sqrt(ridge) * np.eye(d), np.zeros((d, 1))])
    target = np.vstack([y, np.zeros((d, y.shape[1]))])
    solution = np.linalg.lstsq(np.vstack([top, bottom]), target, rcond=None)
    return solution[0][:d], solution[0][d]


def test_ridge_matches_augmented_least_squares_over_chunks():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 6)) + 0.3
    y = x @ rng.standard_normal((6, 2)) + 0.1 * rng.standard_normal((300, 2))
    solver = RidgeRegression(ridge=0.5, chunk_rows=7)
    solver.update(x[:100].astype("float32"), y[:100])
    solver.update(x[100:].reshape(4, 50, 6), y[100:].reshape(4, 50, 2))
    kernel, bias = solver.solve()
    ref_kernel, ref_bias = reference_ridge(
        np.vstack([x[:100].astype("float32"), x[100:]]), y, 0.5
    )
    np.testing.assert_allclose(kernel, ref_kernel, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(bias, ref_bias, rtol=1e-9, atol=1e-10)
    dense = keras.layers.Dense(2, dtype="float64")
    dense.build((None, 6))
    solver.assign(dense)
    np.testing.assert_allclose(dense(x).numpy(), x @ kernel + bias)


def test_ridge_small_then_large_updates_equal_one_update():
    # The float64 work buffer is sized by the first update, then grows.
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 5)), rng.standard_normal((40, 1))
    pieces = RidgeRegression(ridge=0.1, chunk_rows=16)
    for start, stop in [(0, 2), (2, 40)]:
        pieces.update(x[start:stop], y[start:stop])
    whole = RidgeRegression(ridge=0.1)
    whole.update(x, y)
    for a, b in zip(pieces.solve(), whole.solve()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_ridge_zero_penalty_on_singular_features_uses_least_squares():
    x = np.ones((20, 2)) * np.arange(20)[:, None]  # two equal columns
    y = 3.0 * x[:, :1] + 1.0
    solver = RidgeRegression(ridge=0.0)
    solver.update(x, y)
    kernel, bias = solver.solve()
    np.testing.assert_allclose(x @ kernel + bias, y, atol=1e-8)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), True, "1"])
def test_ridge_penalty_errors(bad):
    with pytest.raises(ValueError, match="`ridge` must be a finite"):
        RidgeRegression(ridge=bad)


def _updated_solver():
    solver = RidgeRegression()
    solver.update(np.ones((5, 2)), np.ones((5, 1)))
    return solver


def _dense_of_4_inputs():
    dense = keras.layers.Dense(1)
    dense.build((None, 4))
    return dense


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: RidgeRegression().solve(), "needs at least one row"),
        (
            lambda: RidgeRegression().update(
                np.zeros((5, 2)), np.zeros((4, 1))
            ),
            "same leading shape",
        ),
        (
            lambda: _updated_solver().update(np.ones((5, 3)), np.ones((5, 1))),
            "same numbers of features",
        ),
        (
            lambda: _updated_solver().assign(_dense_of_4_inputs()),
            "must be a built Dense layer",
        ),
    ],
    ids=["solve-first", "leading-shape", "feature-count", "dense-shape"],
)
def test_ridge_solver_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_sparse_column_layout_gives_the_dense_product():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((40, 30)) * (rng.random((40, 30)) < 0.2)
    indices, values = reservoir_module.sparse_columns(matrix, multiple=8)
    assert indices.shape == values.shape and indices.shape[1] % 8 == 0
    x = rng.standard_normal((2, 40))
    gathered = (x[:, indices] * values).sum(-1)
    np.testing.assert_allclose(gathered, x @ matrix, atol=1e-5)
    layer = Reservoir(30, connectivity=0.1, leak_rate=0.5, seed=0)
    layer.build((None, None, 1))
    layout = reservoir_module.sparse_columns(layer.recurrent_kernel.numpy())
    state = rng.uniform(-1, 1, (2, 30)).astype("float32")
    drive = rng.standard_normal((2, 30)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(layer.step(drive, state, layout)),
        np.asarray(layer.step(drive, state)),
        atol=1e-6,
    )


def test_ridge_solve_for_another_penalty_keeps_the_sums():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((50, 4)), rng.standard_normal((50, 1))
    solver = RidgeRegression(ridge=1e-3)
    solver.update(x, y)
    for ridge in (0.5, 1e-3, 2.0):
        other = RidgeRegression(ridge=ridge)
        other.update(x, y)
        for a, b in zip(solver.solve(ridge), other.solve()):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="`ridge` must be a finite"):
        solver.solve(-1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spectral_radius": float("inf")}, "`spectral_radius` must"),
        ({"leak_rate": float("nan")}, "`leak_rate` must"),
        ({"seed": -1}, "`seed` must be None or an int >= 0"),
    ],
)
def test_redraw_refuses_infinite_scalings_and_negative_seeds(kwargs, match):
    layer = Reservoir(8, connectivity=0.5, seed=0)
    layer.build((None, None, 2))
    before = [w.numpy() for w in layer.weights]
    with pytest.raises(ValueError, match=match):
        layer.redraw(**kwargs)
    for old, weight in zip(before, layer.weights):
        np.testing.assert_array_equal(old, weight.numpy())
