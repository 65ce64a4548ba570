import gzip
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from toolkit.data import digits, digits_split, load_digits, shipped


def test_load_digits_contents():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    # Independent read of the shipped file.
    path = shipped.shipped_path(digits.DIGITS_FILE)
    with gzip.open(path, "rt") as handle:
        first = [int(value) for value in handle.readline().split(",")]
    np.testing.assert_array_equal(x[0] * 16, first[:64])
    assert y[0] == first[64] == 0
    # Pixels are counts of on-pixels in 4x4 blocks: integers 0..16.
    raw, _ = load_digits(scale=False)
    np.testing.assert_array_equal(raw, np.round(raw))
    images, _ = load_digits(shape="image")
    assert images.shape == (1797, 8, 8, 1)
    np.testing.assert_array_equal(images[5, :, :, 0].ravel(), x[5])


def test_split_is_stratified_disjoint_and_seeded():
    (x, y), (x_val, y_val) = digits_split(0.25, seed=3)
    assert len(x) + len(x_val) == 1797
    _, all_y = load_digits()
    for label in range(10):
        total = (all_y == label).sum()
        assert (y_val == label).sum() == round(0.25 * total)
    # Together the two parts are a permutation of the whole set.
    all_x, _ = load_digits()
    both = np.concatenate([x, x_val])
    key = np.lexsort(both.T)
    np.testing.assert_array_equal(both[key], all_x[np.lexsort(all_x.T)])
    (x2, _), _ = digits_split(0.25, seed=3)
    np.testing.assert_array_equal(x, x2)


def test_installed_package_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "_CHECKOUT_DATASETS", tmp_path / "none")
    installed = tmp_path / "installed"
    installed.mkdir()
    data = (
        pathlib.Path(__file__).parents[1] / "datasets" / digits.DIGITS_FILE
    ).read_bytes()
    (installed / digits.DIGITS_FILE).write_bytes(data)
    monkeypatch.setattr(
        shipped.importlib.resources, "files", lambda package: installed
    )
    assert shipped.shipped_path(digits.DIGITS_FILE) == installed / (
        digits.DIGITS_FILE
    )
    assert load_digits()[0].shape == (1797, 64)
    with pytest.raises(FileNotFoundError, match="neither in"):
        shipped.shipped_path("missing.csv")


@pytest.mark.slow
def test_wheel_ships_the_data(tmp_path):
    root = pathlib.Path(__file__).parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "toolkit/_datasets/digits.csv.gz" in names
    assert "toolkit/_datasets/README.md" in names
    assert not any(name.startswith("datasets/") for name in names)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: load_digits(shape="square"), "`shape` must be one of"),
        (lambda: digits_split(1.0), "`validation_fraction` must be"),
        (lambda: digits_split(seed=-1), "`seed` must be None or an int"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
