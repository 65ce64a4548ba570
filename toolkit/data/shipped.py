"""Finding the data files the project ships in `datasets/`.

Files in `datasets/` reach users from a source checkout (read in place) and
from an installed wheel (installed as the package data of
`toolkit._datasets`); `shipped_path` finds them in either. Every reader of
shipped data goes through it.
"""

import importlib.resources
import pathlib

_CHECKOUT_DATASETS = pathlib.Path(__file__).resolve().parents[2] / "datasets"


def shipped_path(name):
    """The path of the shipped data file `name`.

    Looks in the source checkout's `datasets/` folder first, then in the
    installed package `toolkit._datasets`.

    Args:
        name: str, a file name listed in `datasets/README.md`.

    Returns:
        A `pathlib.Path` (or an `importlib.resources` traversable) that can
        be opened for reading.

    Example:

    ```python
    from toolkit.data import shipped_path

    shipped_path("sunspots_yearly.csv").read_text()
    ```
    """
    local = _CHECKOUT_DATASETS / name
    if local.is_file():
        return local
    try:
        installed = importlib.resources.files("toolkit._datasets") / name
    except ModuleNotFoundError:
        installed = None
    if installed is not None and installed.is_file():
        return installed
    raise FileNotFoundError(
        f"The shipped data file {name!r} is neither in {_CHECKOUT_DATASETS} "
        "nor in the installed package `toolkit._datasets`. Reinstall the "
        "toolkit (`pip install curriculum-toolkit`) or restore the file "
        "from the repository."
    )
