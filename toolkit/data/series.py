"""Readers of the real time series the project ships in `datasets/`."""

import csv
import io
import pathlib
from importlib import resources

import numpy as np

_CHECKOUT_DATASETS = pathlib.Path(__file__).resolve().parents[2] / "datasets"


def read_shipped_text(filename):
    """The text of a file shipped in `datasets/`.

    Looks in the source checkout's `datasets/` folder first, then in the
    installed package `toolkit._datasets` (the same folder inside a wheel).

    Args:
        filename: str, the file's name, e.g. `"sunspots_yearly.csv"`.

    Returns:
        str, the file's content.
    """
    local = _CHECKOUT_DATASETS / filename
    if local.is_file():
        return local.read_text(encoding="utf-8")
    try:
        resource = resources.files("toolkit._datasets").joinpath(filename)
        return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise FileNotFoundError(
            f"The shipped data file {filename!r} was found neither in "
            f"{_CHECKOUT_DATASETS} nor in the installed package "
            "`toolkit._datasets`; reinstall the toolkit."
        ) from error


def sunspots():
    """Yearly mean sunspot numbers, 1700-2008 (309 values).

    The series statsmodels ships (from NOAA's National Geophysical Data
    Center; public domain, see `datasets/README.md`). Its roughly 11-year
    cycle with varying amplitude makes a small real forecasting benchmark.

    Returns:
        `(years, values)`: int64 array `(309,)` and float64 array `(309, 1)`.

    Example:

    ```python
    from toolkit.data import sunspots

    years, values = sunspots()
    x, y = values[:-1], values[1:]  # predict next year's number
    ```
    """
    reader = csv.DictReader(
        io.StringIO(read_shipped_text("sunspots_yearly.csv"))
    )
    rows = [(int(float(r["YEAR"])), float(r["SUNACTIVITY"])) for r in reader]
    years = np.array([year for year, _ in rows], dtype="int64")
    values = np.array([value for _, value in rows], dtype="float64")
    return years, values[:, None]
