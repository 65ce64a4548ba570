"""A data source named by a mapping: what `data:` of a sweep
configuration holds when it is not a shipped data set.

```yaml
data:
  path: my_table.csv      # relative to the configuration file
  target: label
  validation: 0.2
```

`check_source` fills in the defaults of `SOURCE_KEYS` and makes the paths
absolute; `read_source` reads the training and validation parts.

Example:

```python
import pandas as pd

from toolkit.data import check_source, read_source

pd.DataFrame({"a": range(10), "label": [0, 1] * 5}).to_csv(
    "t.csv", index=False)
source = check_source({"path": "t.csv", "target": "label",
                       "validation": 0.2})
(x, y), (x_val, y_val), info = read_source(source)
x.shape, x_val.shape  # ((8, 1), (2, 1))
```
"""

import pathlib

import numpy as np

from toolkit import validation as v
from toolkit.data import readers

#: Keys of a data mapping, with their defaults (None: unset).
SOURCE_KEYS = {
    # Every format.
    "path": None,  # required: a file, or a folder of class folders
    "format": None,  # csv, parquet, npz, images or text (None: guessed)
    "validation": 0.2,  # a fraction, {column: name} or a second file
    "shuffle": True,  # shuffle before holding out a fraction
    "seed": 0,  # the shuffle's seed
    # CSV and Parquet.
    "target": None,  # required there: the target column(s)
    "features": None,  # None: every other column
    "categorical": None,  # None: the non-numeric feature columns
    "encoding": "onehot",  # or integer
    "time_index": None,  # sort rows by this column (not a feature)
    # Sequence recipes (tables and npz): windows of rows.
    "lookback": None,  # steps per window (None: no windows)
    "horizon": 1,  # the target this many steps after the window
    "stride": 1,
    # npz.
    "x": "x",
    "y": "y",
    # Image folders.
    "image_size": None,  # [height, width] (None: the first image's)
    "color_mode": "grayscale",  # or rgb, rgba
    "scale": 1.0 / 255.0,
    # Text files.
    "separator": "\t",  # between a line's label and its text
    "lowercase": True,
}

#: The formats, each with the keys that belong to it besides the common.
FORMAT_KEYS = {
    "csv": (
        "target",
        "features",
        "categorical",
        "encoding",
        "time_index",
        "lookback",
        "horizon",
        "stride",
    ),
    "npz": ("x", "y", "lookback", "horizon", "stride"),
    "images": ("image_size", "color_mode", "scale"),
    "text": ("separator", "lowercase"),
}
FORMAT_KEYS["parquet"] = FORMAT_KEYS["csv"]
COMMON_KEYS = ("path", "format", "validation", "shuffle", "seed")


def check_source(source, base_dir=None):
    """Check a data mapping (or a bare path) and fill in its defaults.

    Args:
        source: a mapping with the keys of `SOURCE_KEYS` (`path`
            required), or a str path (then every other key has its
            default).
        base_dir: str, path-like or None, the folder relative paths are
            read from (a configuration's own folder). Default: None (the
            current directory).

    Returns:
        A new dict with every key of `SOURCE_KEYS`, `path` (and a
        `validation` file) absolute, and `format` set.

    Raises:
        ValueError: an unknown key, a key of another format, no `path`,
            no `target` for a table, a bad `validation`.
        FileNotFoundError: `path` (or the validation file) is not there.
    """
    if isinstance(source, (str, pathlib.PurePath)):
        source = {"path": str(source)}
    if not isinstance(source, dict):
        raise ValueError(
            "Argument `data` must be a shipped data set's name, a path, or "
            f"a mapping with keys {sorted(SOURCE_KEYS)}. Received: "
            f"data={source!r}"
        )
    unknown = sorted(set(source) - set(SOURCE_KEYS))
    if unknown:
        raise ValueError(
            f"Argument `data`: unknown keys {unknown}; allowed keys are "
            f"{sorted(SOURCE_KEYS)}. Received: data={source!r}"
        )
    if not source.get("path"):
        raise ValueError(
            "Argument `data` must have a `path` (a file, or a folder of "
            f"class folders). Received: data={source!r}"
        )
    filled = {**SOURCE_KEYS, **source}
    base = pathlib.Path(base_dir) if base_dir is not None else None
    filled["path"] = str(_resolve(filled["path"], base, "path"))
    kind = filled["format"] or guess_format(filled["path"])
    filled["format"] = v.check_choice("format", kind, set(FORMAT_KEYS))
    foreign = sorted(
        key
        for key in source
        if key not in COMMON_KEYS
        and key not in FORMAT_KEYS[kind]
        and source[key] != SOURCE_KEYS[key]
    )
    if foreign:
        raise ValueError(
            f"Argument `data`: the keys {foreign} do not apply to "
            f"{kind} data; its keys are "
            f"{sorted(COMMON_KEYS + FORMAT_KEYS[kind])}. Received: "
            f"data={source!r}"
        )
    if kind in ("csv", "parquet") and not filled["target"]:
        raise ValueError(
            "Argument `data` must name the `target` column(s) of a "
            f"table. Received: data={source!r}"
        )
    filled["validation"] = _check_validation(filled["validation"], base, kind)
    for key in ("shuffle", "lowercase"):
        if not isinstance(filled[key], bool):
            raise ValueError(
                f"Argument `{key}` must be true or false. Received: "
                f"{key}={filled[key]!r}"
            )
    filled["seed"] = v.check_seed(filled["seed"])
    return filled


def guess_format(path):
    """The format of a data path, from its suffix (a folder: images)."""
    path = pathlib.Path(path)
    if path.is_dir():
        return "images"
    name = path.name.lower()
    for kind, suffixes in readers.TABLE_SUFFIXES.items():
        if name.endswith(suffixes):
            return kind
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".txt"):
        return "text"
    raise ValueError(
        f"Argument `format`: cannot tell the format of {path.name} from its "
        f"suffix (.csv, .parquet, .npz, .txt, or a folder of images); give "
        f"`format`, one of {sorted(FORMAT_KEYS)}. Received: format=None"
    )


def read_source(source, series=False):
    """Read a checked data mapping (see `check_source`).

    Args:
        source: dict, from `check_source`.
        series: bool, read a table or `.npz` as one series for a model of
            series (an ESN): the rows in time order, the validation part
            the last rows, the target column(s) among the inputs, and the
            targets `horizon` rows ahead of the inputs (`x_t ->
            y_{t+horizon}`). Default: False.

    Returns:
        `((x, y), (x_val, y_val), info)`: NumPy arrays (a dict of arrays
        for text: the tree inputs of `recipes.build_tree_classifier`) and
        a dict with what the reader found: `classes` (class names or
        None), `num_classes` (or None), `features`, `categories`,
        `vocabulary` (text) and `source`.
    """
    kind = source["format"]
    validation = source["validation"]
    if series and (source.get("lookback") or kind in ("images", "text")):
        raise ValueError(
            "Argument `data`: a model of series (an ESN) reads a table or "
            "an .npz file row by row, without `lookback`. Received: "
            f"format={kind!r}, lookback={source.get('lookback')!r}"
        )
    read = _READERS[kind]
    x, y, info = read(dict(source, _series=series), None)
    held = None
    if isinstance(validation, dict):
        marks = readers.validation_marks(
            info["frame"][validation["column"]], validation["column"]
        )
        train, held = readers.split_validation([x, y], None, marks=marks)
    elif isinstance(validation, str):
        held = list(read(dict(source, _series=series), info, validation)[:2])
        train = [x, y]
    else:
        in_time = (
            series
            or not source["shuffle"]
            or bool(source.get("time_index") or source.get("lookback"))
        )
        train, held = readers.split_validation(
            [x, y], validation, seed=source["seed"], shuffle=not in_time
        )
    if series:
        train, held = _shifted(source, train), _shifted(source, held)
    if source.get("lookback"):
        train = list(_windows(source, *train))
        held = list(_windows(source, *held))
    if kind == "text":
        train, held, info = _encode_text(source, train, held, info)
    info = {key: value for key, value in info.items() if key != "frame"}
    classes = info.get("classes")
    info["num_classes"] = (
        len(classes) if classes else _count_classes(train[1], held[1])
    )
    info["source"] = source
    return tuple(train), tuple(held), info


def _read_table(source, before, path=None):
    validation = source["validation"]
    exclude = [validation["column"]] if isinstance(validation, dict) else []
    x, y, info = readers.read_table(
        path or source["path"],
        source["target"],
        features=source["features"],
        categorical=source["categorical"],
        encoding=source["encoding"],
        time_index=source["time_index"],
        categories=None if before is None else before["categories"],
        exclude=exclude,
        target_as_feature=bool(source["lookback"] or source["_series"]),
        format=source["format"],
    )
    return x, y, info


def _read_npz(source, before, path=None):
    return readers.read_npz(
        path or source["path"], x=source["x"], y=source["y"]
    )


def _read_images(source, before, path=None):
    size = source["image_size"]
    x, y, info = readers.read_image_folder(
        path or source["path"],
        image_size=None if size is None else tuple(size),
        color_mode=source["color_mode"],
        scale=source["scale"],
    )
    if before is not None and info["classes"] != before["classes"]:
        raise ValueError(
            "Argument `validation`: the validation folder's classes "
            f"{info['classes']} differ from the training folder's "
            f"{before['classes']}. Received: validation="
            f"{source['validation']!r}"
        )
    return x, y, info


def _read_text(source, before, path=None):
    texts, y, info = readers.read_text_lines(
        path or source["path"],
        separator=source["separator"],
        classes=None if before is None else before["classes"],
    )
    if source["lowercase"]:
        texts = [text.lower() for text in texts]
    return np.asarray(texts, dtype=object), y, info


_READERS = {
    "csv": _read_table,
    "parquet": _read_table,
    "npz": _read_npz,
    "images": _read_images,
    "text": _read_text,
}


def _encode_text(source, train, held, info):
    """Text lines as balanced binary trees over their words, encoded for
    `recipes.build_tree_classifier` with a vocabulary of the training
    words."""
    from toolkit.data.trees import Vocabulary, balanced_tree, encode_trees

    def trees(texts):
        return [balanced_tree(text.split() or ["<empty>"]) for text in texts]

    train_trees, held_trees = trees(train[0]), trees(held[0])
    vocabulary = Vocabulary.from_trees(train_trees)
    largest = max(len(t.nodes()) for t in train_trees + held_trees)
    parts = []
    for part, part_trees in ((train, train_trees), (held, held_trees)):
        encoded = encode_trees(part_trees, vocabulary, max_nodes=largest)
        inputs = {k: encoded[k] for k in ("tokens", "children", "heights")}
        parts.append([inputs, part[1]])
    info = {**info, "vocabulary": vocabulary}
    return parts[0], parts[1], info


def _shifted(source, part):
    """Inputs at `t`, targets at `t + horizon`, as 2-D series."""
    x, y = part
    horizon = v.check_positive_int("horizon", source["horizon"])
    if len(x) <= horizon:
        raise ValueError(
            f"Argument `horizon`: a part of {len(x)} rows leaves no "
            f"inputs {horizon} rows ahead. Received: horizon={horizon}"
        )
    y = y[:, None] if y.ndim == 1 else y
    return [x[:-horizon], y[horizon:]]


def _windows(source, x, y):
    return readers.make_windows(
        x,
        y,
        lookback=source["lookback"],
        horizon=source["horizon"],
        stride=source["stride"],
    )


def _count_classes(y, y_val):
    """`max + 1` of integer targets of one column, else None."""
    if y is None or np.asarray(y).ndim != 1:
        return None
    if not np.issubdtype(np.asarray(y).dtype, np.integer):
        return None
    labels = np.concatenate([np.asarray(y), np.asarray(y_val)])
    return int(labels.max()) + 1 if labels.size else None


def _resolve(path, base, name):
    path = pathlib.Path(str(path)).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        where = f" (read from {base})" if base is not None else ""
        raise FileNotFoundError(
            f"Argument `{name}` must name a data file or folder; there is "
            f"none at {path}{where}. Received: {name}={str(path)!r}"
        )
    return path.resolve()


def _check_validation(validation, base, kind):
    if validation is None:
        raise ValueError(
            "Argument `validation` must be a fraction in (0, 1), "
            "{column: <name>} or a second file: a sweep scores its trials "
            "on it. Received: validation=None"
        )
    if isinstance(validation, bool):
        raise ValueError(
            "Argument `validation` must be a fraction in (0, 1), "
            "{column: <name>} or a second file. Received: "
            f"validation={validation!r}"
        )
    if isinstance(validation, (int, float)):
        return v.check_in_range(
            "validation",
            validation,
            0.0,
            1.0,
            low_closed=False,
            high_closed=False,
        )
    if isinstance(validation, str):
        return str(_resolve(validation, base, "validation"))
    if (
        isinstance(validation, dict)
        and set(validation) == {"column"}
        and kind in ("csv", "parquet")
    ):
        return dict(validation)
    raise ValueError(
        "Argument `validation` must be a fraction in (0, 1), {column: "
        "<name>} (tables only) or a second file. Received: "
        f"validation={validation!r}"
    )
