"""Tests of toolkit.data.chaotic and toolkit.data.series."""

import pathlib

import numpy as np
import pytest

from toolkit.data import mackey_glass, narma, series, shipped, sunspots


def test_mackey_glass_matches_closed_form_while_the_history_is_constant():
    # With a constant history x0, for 0 <= t <= tau the delayed term is the
    # constant c = a x0 / (1 + x0^p), so x(t) = c/b + (x0 - c/b) e^{-bt}.
    a, b, power, x0, tau = 0.2, 0.1, 10, 1.2, 17
    got = mackey_glass(tau, tau=tau, x0=x0, noise=0.0, seed=0)[:, 0]
    c = a * x0 / (1 + x0**power)
    t = np.arange(1, tau + 1)
    expected = c / b + (x0 - c / b) * np.exp(-b * t)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_mackey_glass_is_seeded_and_chaotic_in_range():
    first = mackey_glass(600, seed=3)
    assert first.shape == (600, 1) and first.dtype == np.float64
    np.testing.assert_array_equal(first, mackey_glass(600, seed=3))
    other = mackey_glass(600, seed=4)
    assert np.abs(first - other)[-100:].max() > 0.1  # trajectories diverge
    # The MG-17 attractor stays within about [0.2, 1.4].
    assert 0.2 < first[100:].min() and first[100:].max() < 1.45


def test_mackey_glass_sampling_and_discard_pick_grid_points():
    fine = mackey_glass(40, sampling=0.5, seed=1)
    coarse = mackey_glass(20, sampling=1.0, seed=1)
    np.testing.assert_allclose(fine[1::2], coarse)
    later = mackey_glass(10, discard=5, seed=1)
    np.testing.assert_allclose(later, coarse[5:15])


def test_narma_against_written_out_recurrence():
    u, y = narma(200, order=10, seed=0)
    assert u.shape == y.shape == (200, 1)
    assert 0.0 <= u.min() and u.max() <= 0.5
    u, y = u[:, 0], y[:, 0]
    expected = np.zeros(200)
    for t in range(9, 199):
        total = 0.0
        for i in range(10):
            total += expected[t - i]
        expected[t + 1] = (
            0.3 * expected[t]
            + 0.05 * expected[t] * total
            + 1.5 * u[t - 9] * u[t]
            + 0.1
        )
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_sunspots_reads_the_shipped_file():
    years, values = sunspots()
    assert years.shape == (309,) and values.shape == (309, 1)
    assert years[0] == 1700 and years[-1] == 2008
    np.testing.assert_array_equal(values[:3, 0], [5.0, 11.0, 16.0])
    assert np.all(np.diff(years) == 1) and values.min() >= 0


def test_sunspots_falls_back_to_the_installed_package(monkeypatch, tmp_path):
    shipped_folder = shipped._CHECKOUT_DATASETS
    monkeypatch.setattr(shipped, "_CHECKOUT_DATASETS", tmp_path / "none")
    requested = []

    def files(package):
        requested.append(package)
        return pathlib.Path(shipped_folder)  # a Traversable, as in a wheel

    monkeypatch.setattr(shipped.importlib.resources, "files", files)
    years, _ = sunspots()
    assert requested == ["toolkit._datasets"] and len(years) == 309


def test_missing_shipped_file_names_both_places(monkeypatch, tmp_path):
    monkeypatch.setattr(shipped, "_CHECKOUT_DATASETS", tmp_path)

    def files(package):
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(shipped.importlib.resources, "files", files)
    with pytest.raises(FileNotFoundError, match="toolkit._datasets"):
        series.read_shipped_text("sunspots_yearly.csv")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "`n` must be a positive integer"),
        ({"n": 10, "tau": -1}, "`tau` must be a number in"),
        ({"n": 10, "tau": 17.05}, "`tau` must be a whole multiple of `dt`"),
        ({"n": 10, "discard": -1}, "`discard` must be a non-negative"),
        ({"n": 10, "noise": -0.1}, "`noise` must be a number in"),
        ({"n": 10, "dt": float("inf")}, r"`dt` must be a number in \(0, inf\)"),
        ({"n": 10, "seed": -1}, "`seed` must be None or an int >= 0"),
    ],
)
def test_mackey_glass_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mackey_glass(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 10, "order": 0}, "`order` must be a positive"),
        ({"n": -5}, "`n` must be a positive"),
        ({"n": 10, "seed": 1.5}, "`seed` must be None or an int >= 0"),
    ],
)
def test_narma_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        narma(**kwargs)
