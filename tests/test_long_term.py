import numpy as np
import pytest

from toolkit.data import adding_problem, copy_memory


def test_adding_problem_shapes_markers_and_targets():
    x, y = adding_problem(500, timesteps=40, seed=0)
    assert x.shape == (500, 40, 2) and y.shape == (500, 1)
    assert x.dtype == y.dtype == np.float32
    markers = x[..., 1]
    np.testing.assert_array_equal(markers.sum(1), 2.0)
    # one marker in each half
    np.testing.assert_array_equal(markers[:, :20].sum(1), 1.0)
    expected = (x[..., 0] * markers).sum(1, keepdims=True)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_adding_problem_baseline_is_one_sixth():
    _, y = adding_problem(20000, timesteps=10, seed=1)
    predict_one = np.mean((y - 1.0) ** 2)
    assert abs(predict_one - 1.0 / 6.0) < 0.01


def test_generators_are_seeded():
    a = adding_problem(10, 12, seed=3)
    b = adding_problem(10, 12, seed=3)
    c = adding_problem(10, 12, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(
        copy_memory(5, 7, seed=1)[0], copy_memory(5, 7, seed=1)[0]
    )


def test_copy_memory_layout():
    x, y = copy_memory(64, timesteps=30, n_symbols=8, copy_length=10, seed=0)
    assert x.shape == y.shape == (64, 50)
    symbols = x[:, :10]
    assert symbols.min() >= 1 and symbols.max() <= 8
    np.testing.assert_array_equal(x[:, 10:39], 0)
    np.testing.assert_array_equal(x[:, 39], 9)
    np.testing.assert_array_equal(x[:, 40:], 0)
    np.testing.assert_array_equal(y[:, :40], 0)
    np.testing.assert_array_equal(y[:, 40:], symbols)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: adding_problem(0, 10), "`n` must be a positive integer"),
        (lambda: adding_problem(5, 1), r"`timesteps` must be at least 2"),
        (lambda: copy_memory(5, 10, copy_length=0), "`copy_length`"),
        (lambda: copy_memory(5, 10, n_symbols=-1), "`n_symbols`"),
        (lambda: adding_problem(5, 10, seed=-1), "`seed` must be None or"),
        (lambda: copy_memory(5, 10, seed="0"), "`seed` must be None or"),
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
