"""Tests of `toolkit.initializers`: each checks the property it promises."""

import keras
import numpy as np
import pytest
import scipy.sparse

from toolkit.initializers import Chrono, Sparse, SpectralRadius, spectral_radius


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


# ------------------------------------------------------- spectral_radius()
def test_spectral_radius_of_a_known_spectrum():
    # A rotation-scaled block has complex eigenvalues 0.6 +- 0.8i (|.| = 1)
    # and a diagonal entry -1.5: rho = 1.5, by hand.
    matrix = np.zeros((3, 3))
    matrix[:2, :2] = [[0.6, -0.8], [0.8, 0.6]]
    matrix[2, 2] = -1.5
    basis = np.random.default_rng(0).standard_normal((3, 3))
    similar = basis @ matrix @ np.linalg.inv(basis)
    assert spectral_radius(similar) == pytest.approx(1.5, rel=1e-9)


def test_spectral_radius_large_sparse_uses_arpack():
    rng = np.random.default_rng(1)
    size = 800
    diagonal = rng.uniform(-1.0, 1.0, size)
    diagonal[123] = -3.25
    matrix = scipy.sparse.diags(diagonal, format="csr")
    matrix = (
        matrix
        + scipy.sparse.random(size, size, density=0.002, random_state=2) * 1e-3
    )
    dense = matrix.toarray()
    expected = np.max(np.abs(np.linalg.eigvals(dense)))
    assert spectral_radius(matrix, exact_size=100) == pytest.approx(
        expected, rel=1e-5
    )
    # The same matrix dense, through ARPACK and exactly.
    assert spectral_radius(dense, exact_size=100) == pytest.approx(
        expected, rel=1e-5
    )
    assert spectral_radius(matrix) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "matrix, options, match",
    [
        (np.ones((2, 3)), {}, "`matrix` must be a square"),
        (np.eye(3), {"maxiter": 0}, "`maxiter` must be a positive"),
        (np.eye(3), {"exact_size": -1}, "`exact_size`"),
        (np.eye(3), {"tol": -1.0}, "`tol`"),
        (np.eye(3), {"seed": -1}, "`seed` must be None or an int"),
    ],
)
def test_spectral_radius_errors(matrix, options, match):
    with pytest.raises(ValueError, match=match):
        spectral_radius(matrix, **options)


def test_sparse_estimate_finds_the_largest_of_many_close_eigenvalues():
    # A random reservoir's eigenvalues fill a disc: many have nearly the
    # largest modulus. The estimate must agree with the exact value.
    rng = np.random.default_rng(0)
    matrix = scipy.sparse.random(
        400, 400, density=0.1, random_state=rng, data_rvs=rng.standard_normal
    ).tocsr()
    exact = np.max(np.abs(np.linalg.eigvals(matrix.toarray())))
    estimate = spectral_radius(matrix, exact_size=100, seed=1)
    np.testing.assert_allclose(estimate, exact, rtol=1e-6)


def test_spectral_radius_gives_up_with_a_clear_error():
    # Many eigenvalues of equal modulus: ARPACK cannot single one out in
    # one restart at machine precision.
    rng = np.random.default_rng(3)
    size = 600
    angles = rng.uniform(0, 2 * np.pi, size // 2)
    blocks = [
        np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        for a in angles
    ]
    matrix = scipy.sparse.block_diag(blocks, format="csr")
    with pytest.raises(RuntimeError, match="larger `maxiter`"):
        spectral_radius(matrix, exact_size=10, maxiter=1, tol=0.0)


# ---------------------------------------------------------- SpectralRadius
@pytest.mark.parametrize("base", ["glorot_uniform", "random_normal"])
@pytest.mark.parametrize("radius", [0.5, 1.2])
def test_spectral_radius_initializer_hits_the_radius(base, radius):
    matrix = _np(SpectralRadius(radius, base=base, seed=3)((40, 40)))
    measured = np.max(np.abs(np.linalg.eigvals(matrix.astype("float64"))))
    assert measured == pytest.approx(radius, rel=1e-5)
    assert matrix.dtype == np.float32


def test_spectral_radius_initializer_is_a_rescaled_base():
    base = keras.initializers.RandomNormal(seed=7)
    drawn = _np(base((10, 10))).astype("float64")
    scaled = _np(SpectralRadius(0.9, base=base)((10, 10)))
    ratio = scaled / drawn
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)


def test_spectral_radius_on_sparse_base():
    init = SpectralRadius(1.1, base=Sparse(5, seed=0))
    matrix = _np(init((30, 30)))
    np.testing.assert_array_equal(np.count_nonzero(matrix, axis=0), 5)
    assert spectral_radius(matrix) == pytest.approx(1.1, rel=1e-5)


def test_spectral_radius_seeded_reproducible():
    a = _np(SpectralRadius(0.8, seed=11)((16, 16)))
    b = _np(SpectralRadius(0.8, seed=11)((16, 16)))
    c = _np(SpectralRadius(0.8, seed=12)((16, 16)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_spectral_radius_serialization_and_in_a_layer():
    init = SpectralRadius(0.7, base=Sparse(3, stddev=0.5, seed=1), seed=2)
    clone = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(clone, SpectralRadius)
    assert clone.get_config() == init.get_config()
    np.testing.assert_array_equal(_np(init((8, 8))), _np(clone((8, 8))))
    layer = keras.layers.SimpleRNN(8, recurrent_initializer=init)
    layer.build((None, 5, 2))
    recurrent = layer.cell.recurrent_kernel.numpy()
    assert spectral_radius(recurrent) == pytest.approx(0.7, rel=1e-5)
    config = layer.get_config()
    rebuilt = keras.layers.SimpleRNN.from_config(config)
    assert isinstance(rebuilt.cell.recurrent_initializer, SpectralRadius)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: SpectralRadius(0.0), "`radius` must be a number in"),
        (
            lambda: SpectralRadius(float("inf")),
            r"`radius` must be a number in \(0, inf\)",
        ),
        (
            lambda: SpectralRadius(1.0, base="not_an_initializer"),
            "`base` must be a Keras initial",
        ),
        (
            lambda: SpectralRadius(1.0, seed=1.5),
            "`seed` must be None or an int",
        ),
        (lambda: SpectralRadius(1.0)((3, 4)), "square matrices only"),
        (
            lambda: SpectralRadius(1.0, base="zeros")((4, 4)),
            "spectral radius is zero",
        ),
    ],
)
def test_spectral_radius_errors_initializer(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ Sparse
@pytest.mark.parametrize("shape", [(20, 7), (3, 3, 4, 6)])
def test_sparse_exact_nonzero_count_per_unit(shape):
    matrix = _np(Sparse(nonzero=4, stddev=2.0, seed=0)(shape))
    assert matrix.shape == shape
    columns = matrix.reshape(-1, shape[-1])
    np.testing.assert_array_equal(np.count_nonzero(columns, axis=0), 4)


def test_sparse_values_have_the_stddev():
    matrix = _np(Sparse(nonzero=15, stddev=0.3, seed=1)((60, 400)))
    values = matrix[matrix != 0]
    assert values.size == 15 * 400
    assert np.std(values) == pytest.approx(0.3, rel=0.05)
    assert abs(np.mean(values)) < 0.02
    # Units do not share one pattern of rows.
    patterns = {tuple(np.flatnonzero(matrix[:, j])) for j in range(400)}
    assert len(patterns) > 390


def test_sparse_seeded_reproducible_and_serializable():
    a = _np(Sparse(3, seed=5)((10, 10)))
    np.testing.assert_array_equal(a, _np(Sparse(3, seed=5)((10, 10))))
    assert not np.array_equal(a, _np(Sparse(3, seed=6)((10, 10))))
    init = Sparse(3, seed=5)
    clone = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert clone.get_config() == {"nonzero": 3, "stddev": 1.0, "seed": 5}
    np.testing.assert_array_equal(_np(clone((10, 10))), a)


def test_sparse_unseeded_follows_the_global_seed():
    keras.utils.set_random_seed(42)
    a = _np(Sparse(2)((6, 6)))
    keras.utils.set_random_seed(42)
    b = _np(Sparse(2)((6, 6)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Sparse(0), "`nonzero` must be a positive"),
        (lambda: Sparse(2, stddev=-1.0), "`stddev` must be a number in"),
        (lambda: Sparse(2, seed="a"), "`seed` must be None or an int"),
        (lambda: Sparse(2)((5,)), "rank >= 2"),
        (lambda: Sparse(15)((10, 4)), "needs a fan-in of at least 15"),
    ],
)
def test_sparse_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ Chrono
def test_chrono_lstm_bias_range_and_layout():
    units, t_max = 2000, 100.0
    bias = _np(Chrono(t_max, seed=0)((4 * units,)))
    b_i, b_f, b_c, b_o = np.split(bias, 4)
    assert np.all(b_f >= 0.0) and np.all(b_f <= np.log(t_max - 1))
    # log of a uniform: exp(b_f) covers [1, T_max - 1] evenly.
    assert np.mean(np.exp(b_f)) == pytest.approx(t_max / 2, rel=0.05)
    np.testing.assert_allclose(b_i, -b_f)
    np.testing.assert_array_equal(b_c, 0.0)
    np.testing.assert_array_equal(b_o, 0.0)


def test_chrono_gru_layouts():
    t_max = 50.0
    bias = _np(Chrono(t_max, cell="gru", seed=1)((3 * 64,)))
    b_u, b_r, b_n = np.split(bias, 3)
    assert np.all((b_u >= 0) & (b_u <= np.log(t_max - 1)))
    assert b_u.std() > 0.1
    np.testing.assert_array_equal(np.concatenate([b_r, b_n]), 0.0)
    two_rows = _np(Chrono(t_max, cell="gru", seed=1)((2, 3 * 64)))
    np.testing.assert_array_equal(two_rows[0], bias)
    np.testing.assert_array_equal(two_rows[1], 0.0)


def test_chrono_in_keras_lstm_and_gru():
    lstm = keras.layers.LSTM(
        6, unit_forget_bias=False, bias_initializer=Chrono(20, seed=0)
    )
    lstm.build((None, 4, 3))
    forget = lstm.cell.bias.numpy()[6:12]
    assert np.all((forget >= 0) & (forget <= np.log(19)))
    gru = keras.layers.GRU(5, bias_initializer=Chrono(20, "gru", seed=0))
    gru.build((None, 4, 3))
    assert gru.cell.bias.shape == (2, 15)
    assert np.all(gru.cell.bias.numpy()[0, :5] > 0)
    rebuilt = keras.layers.GRU.from_config(gru.get_config())
    assert rebuilt.cell.bias_initializer.get_config() == {
        "max_timescale": 20.0,
        "cell": "gru",
        "seed": 0,
    }


def test_chrono_seeded_reproducible():
    a = _np(Chrono(30, seed=4)((8,)))
    np.testing.assert_array_equal(a, _np(Chrono(30, seed=4)((8,))))
    assert not np.array_equal(a, _np(Chrono(30, seed=5)((8,))))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Chrono(1.5), "`max_timescale` must be a number"),
        (lambda: Chrono(float("inf")), r"`max_timescale` .* \[2, inf\)"),
        (lambda: Chrono(10, cell="rnn"), "`cell` must be one of"),
        (lambda: Chrono(10, seed=[1]), "`seed` must be None or an int"),
        (lambda: Chrono(10)((6,)), r"shape \(4 \* units,\)"),
        (lambda: Chrono(10)((3, 8)), "unit_forget_bias=False"),
        (lambda: Chrono(10, cell="gru")((3, 9)), r"\(2, 3 \* units\)"),
    ],
)
def test_chrono_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
