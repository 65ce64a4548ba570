"""Readers of the real time series the project ships in `datasets/`."""

import csv
import io

import numpy as np

from toolkit.data.shipped import shipped_path


def read_shipped_text(filename):
    """The text of a file shipped in `datasets/` (found by `shipped_path`,
    in a checkout or an installed wheel).

    Args:
        filename: str, the file's name, e.g. `"sunspots_yearly.csv"`.

    Returns:
        str, the file's content.
    """
    return shipped_path(filename).read_text(encoding="utf-8")


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
