"""Readers of the files people keep their data in, into NumPy arrays.

- `read_table`: CSV (through pandas) and Parquet (through pandas and
  pyarrow), with the target and feature columns named, categorical
  columns encoded (one-hot or integer codes, the mapping kept) and an
  optional time index the rows are sorted by.
- `read_npz`: NumPy `.npz` archives.
- `read_image_folder`: a folder with one sub-folder of images per class.
- `read_text_lines`: text files with one example per line.
- `make_windows`: windows of `lookback` rows and the target `horizon` rows
  later, for sequence recipes.
- `split_validation`: hold out a fraction, the rows a column marks, or
  nothing.

Every reader says what is wrong before anything trains: a missing column
(named, with the columns there are), missing or infinite values (the
count and the first row), an empty file.

Example:

```python
import pandas as pd

from toolkit.data import read_table

pd.DataFrame(
    {"size": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"],
     "label": [0, 1, 0]}
).to_csv("table.csv", index=False)
x, y, info = read_table("table.csv", target="label")
info["features"]  # ['size', 'colour=blue', 'colour=red']
```
"""

import pathlib

import numpy as np

from toolkit import validation as v

#: Suffixes of each table format.
TABLE_SUFFIXES = {
    "csv": (".csv", ".csv.gz", ".tsv", ".txt.gz"),
    "parquet": (".parquet", ".pq"),
}
#: Image files `read_image_folder` decodes.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
#: Values of a validation column that mean "validation" and "training".
VALIDATION_MARKS = {True, 1, "validation", "val", "valid", "test"}
TRAINING_MARKS = {False, 0, "train", "training"}


def read_table(
    path,
    target,
    features=None,
    categorical=None,
    encoding="onehot",
    time_index=None,
    categories=None,
    exclude=(),
    target_as_feature=False,
    format=None,
):
    """Read a CSV or Parquet table into `(x, y)` arrays.

    Args:
        path: str or path-like, a `.csv` (also `.csv.gz`, `.tsv`) or
            `.parquet` file.
        target: str or list of str, the target column(s). A target of
            strings becomes integer class ids in sorted order
            (`info["classes"]` keeps the names); an integer target stays
            integer (int32), a float one becomes float32.
        features: list of str or None, the feature columns in this order.
            Default: None, every column but the target(s), `time_index`
            and `exclude`.
        categorical: list of str or None, feature columns to encode.
            Default: None, the feature columns that are not numeric.
        encoding: `"onehot"` (one float column `name=value` per category,
            in sorted order) or `"integer"` (one column of codes
            `0..K-1`, in sorted order). Default: `"onehot"`.
        time_index: str or None, a column the rows are sorted by (stable
            sort); it is not a feature, and `info["index"]` keeps it.
            Default: None (the file's order).
        categories: dict or None, `{column: [values]}` of a table read
            before (its `info["categories"]`), so that a validation file
            gets the same codes; a value not in it is an error.
            Default: None (found here).
        exclude: columns that are neither features nor targets (e.g. a
            validation column). Default: none.
        target_as_feature: bool, with `features=None`, keep the target
            column(s) among the features too (their past values are the
            inputs of windows, see `make_windows`). Default: False.
        format: `"csv"`, `"parquet"` or None (from the suffix).
            Default: None.

    Returns:
        `(x, y, info)`: `x` float32 `(rows, features)`, `y` `(rows,)` for
        one target or `(rows, targets)`, and `info`, a dict with
        `features` (the names of `x`'s columns), `targets`, `categories`
        (`{column: [values]}`, a value's code is its position),
        `encoding`, `classes` (the target's names, or None) and `index`
        (the `time_index` values, or None) and `frame` (the table read).

    Raises:
        ValueError: a missing column (named, with the columns there are),
            missing or infinite values (count and first row), an empty
            table, a category unseen in `categories`.
        ImportError: Parquet without pyarrow, with the line to install it.
    """
    path = _check_file("path", path)
    frame = _read_frame(path, format)
    targets = [target] if isinstance(target, str) else list(target or [])
    if not targets:
        raise ValueError(
            "Argument `target` must name the target column(s). "
            f"Received: target={target!r}"
        )
    encoding = v.check_choice("encoding", encoding, {"onehot", "integer"})
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    _check_columns("target", targets, frame, path)
    if time_index is not None:
        _check_columns("time_index", [time_index], frame, path)
    _check_columns("exclude", exclude, frame, path)
    if features is None:
        skip = set(exclude) | {time_index}
        if not target_as_feature:
            skip |= set(targets)
        features = [c for c in frame.columns if c not in skip]
    else:
        features = [features] if isinstance(features, str) else list(features)
        _check_columns("features", features, frame, path)
    if not features:
        raise ValueError(
            f"Argument `features`: {path.name} has no feature columns "
            f"besides the target(s) {targets}. Received: columns "
            f"{list(frame.columns)}"
        )
    if len(frame) == 0:
        raise ValueError(
            f"Argument `path` must name a table with rows: {path.name} has "
            f"only its header. Received: path={str(path)!r}"
        )
    index = None
    if time_index is not None:
        frame = frame.sort_values(time_index, kind="stable")
        index = frame[time_index].to_numpy()
    if categorical is None:
        categorical = [c for c in features if not _is_numeric(frame[c].dtype)]
    else:
        categorical = (
            [categorical] if isinstance(categorical, str) else categorical
        )
        _check_columns("categorical", list(categorical), frame, path)
    _check_missing(frame, features + targets, path)
    known = dict(categories or {})
    columns, names, mapping = [], [], {}
    for column in features:
        values = frame[column]
        if column in categorical:
            kept = known.get(column)
            if kept is None:
                kept = sorted(values.unique().tolist(), key=str)
            codes = _codes(values, kept, column, path)
            mapping[column] = list(kept)
            if encoding == "integer":
                columns.append(codes.astype("float32")[:, None])
                names.append(column)
            else:
                columns.append(np.eye(len(kept), dtype="float32")[codes])
                names.extend(f"{column}={value}" for value in kept)
        else:
            if not _is_numeric(values.dtype):
                raise ValueError(
                    f"Argument `categorical`: column {column!r} of "
                    f"{path.name} is not numeric (e.g. {values.iloc[0]!r}); "
                    "list it in `categorical` to encode it. Received: "
                    f"categorical={list(categorical)}"
                )
            columns.append(values.to_numpy(dtype="float32")[:, None])
            names.append(column)
    x = np.concatenate(columns, axis=1)
    _check_finite(x, names, path)
    y, classes = _targets(frame, targets, known.get("__target__"), path)
    if classes is not None:
        mapping["__target__"] = classes
    info = {
        "features": names,
        "targets": targets,
        "categories": mapping,
        "encoding": encoding,
        "classes": classes,
        "index": index,
        "frame": frame,
    }
    return x, y, info


def read_npz(path, x="x", y="y"):
    """Read inputs and targets from a NumPy `.npz` archive.

    Args:
        path: str or path-like, the `.npz` file (`numpy.savez`).
        x: str, the key of the inputs. Default: `"x"`.
        y: str or None, the key of the targets. Default: `"y"`.

    Returns:
        `(x, y, info)`: the arrays (floats as float32), and `info` with
        `keys`, every key of the archive.

    Example:

    ```python
    import numpy as np

    from toolkit.data import read_npz

    np.savez("data.npz", x=np.zeros((4, 3)), y=np.arange(4))
    x, y, info = read_npz("data.npz")
    ```
    """
    path = _check_file("path", path)
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        for name, key in (("x", x), ("y", y)):
            if key is not None and key not in keys:
                raise ValueError(
                    f"Argument `{name}`: {path.name} has no array {key!r}; "
                    f"its arrays are {keys}. Received: {name}={key!r}"
                )
        inputs = _float32(archive[x])
        targets = None if y is None else _float32(archive[y])
    return inputs, targets, {"keys": keys}


def read_image_folder(
    path, image_size=None, color_mode="grayscale", scale=1.0 / 255.0
):
    """Read a folder with one sub-folder of images per class.

    `path/cat/1.png, path/dog/7.png, ...`: the classes are the sub-folders
    in sorted order (class id = position), the images within each in
    sorted order. Images are decoded by TensorFlow (PNG, JPEG, GIF, BMP).

    Args:
        path: str or path-like, the folder.
        image_size: `(height, width)` or None. Images are resized
            (bilinear) to it; None: the size of the first image, and
            every image must have it. Default: None.
        color_mode: `"grayscale"` (1 channel), `"rgb"` (3) or `"rgba"`
            (4). Default: `"grayscale"`.
        scale: float, the pixels are multiplied by it. Default: 1/255
            (pixels in [0, 1]).

    Returns:
        `(x, y, info)`: `x` float32 `(images, height, width, channels)`,
        `y` int32 class ids, `info` with `classes` (the sub-folder names)
        and `files` (each image's path).

    Raises:
        ValueError: no sub-folders, a sub-folder without images, images
            of different sizes without `image_size`.
    """
    import tensorflow as tf

    folder = pathlib.Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            "Argument `path` must be a folder with one sub-folder of "
            f"images per class. Received: path={str(path)!r} (no folder)"
        )
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[
        v.check_choice("color_mode", color_mode, {"grayscale", "rgb", "rgba"})
    ]
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ValueError(
            "Argument `path` must hold one sub-folder of images per class, "
            f"at least two. Received: {folder} with sub-folders {classes}"
        )
    if image_size is not None:
        image_size = tuple(
            v.check_positive_int("image_size", size) for size in image_size
        )
    images, labels, files = [], [], []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (folder / name).iterdir()
            if p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not found:
            raise ValueError(
                f"Argument `path`: the class folder {name!r} has no images "
                f"({', '.join(IMAGE_SUFFIXES)}). Received: path={str(path)!r}"
            )
        for file in found:
            image = tf.io.decode_image(
                tf.io.read_file(str(file)),
                channels=channels,
                expand_animations=False,
            )
            if image_size is not None:
                image = tf.image.resize(image, image_size)
            image = np.asarray(image, dtype="float32")
            if images and image.shape != images[0].shape:
                raise ValueError(
                    f"Argument `image_size`: {file} is {image.shape[:2]} "
                    f"but {files[0]} is {images[0].shape[:2]}; give "
                    "`image_size` to resize them all. Received: "
                    f"image_size={image_size}"
                )
            images.append(image)
            labels.append(label)
            files.append(str(file))
    x = np.stack(images) * np.float32(scale)
    y = np.asarray(labels, dtype="int32")
    return x, y, {"classes": classes, "files": files}


def read_text_lines(path, separator="\t", labels=True, classes=None):
    """Read a text file with one example per line.

    Each line is `label<separator>text` (or only the text with
    `labels=False`); blank lines are skipped. String labels become class
    ids in sorted order.

    Args:
        path: str or path-like, a UTF-8 text file.
        separator: str, between the label and the text. Default: a tab.
        labels: bool, whether lines start with a label. Default: True.
        classes: list or None, the class names of a file read before (its
            `info["classes"]`), so that a validation file gets the same
            ids; a label not in it is an error. Default: None.

    Returns:
        `(texts, y, info)`: a list of str, int32 class ids (None without
        labels), `info` with `classes` and `lines` (each text's line
        number, from 1).

    Example:

    ```python
    from toolkit.data import read_text_lines

    with open("reviews.txt", "w") as handle:
        handle.write("good\\ta fine film\\nbad\\ta dull film\\n")
    texts, y, info = read_text_lines("reviews.txt")
    info["classes"]  # ['bad', 'good']
    ```
    """
    path = _check_file("path", path)
    texts, names, lines = [], [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            if labels:
                if separator not in line:
                    raise ValueError(
                        f"Argument `separator`: line {number} of "
                        f"{path.name} has no {separator!r} between a label "
                        f"and the text: {line[:60]!r}. Received: "
                        f"separator={separator!r}"
                    )
                name, line = line.split(separator, 1)
                names.append(name.strip())
            texts.append(line.strip())
            lines.append(number)
    if not texts:
        raise ValueError(
            "Argument `path` must name a file with at least one example "
            f"line. Received: {path.name} (empty)"
        )
    y = None
    if labels:
        if classes is None:
            classes = sorted(set(names), key=_label_key)
        ids = {name: i for i, name in enumerate(classes)}
        unknown = [n for n in names if n not in ids]
        if unknown:
            raise ValueError(
                f"Argument `classes`: {path.name} has the label "
                f"{unknown[0]!r}, not among {list(classes)}. Received: "
                f"{len(unknown)} line(s) with unknown labels"
            )
        y = np.asarray([ids[name] for name in names], dtype="int32")
    return texts, y, {"classes": classes, "lines": lines}


def make_windows(x, y=None, lookback=10, horizon=1, stride=1):
    """Cut a series into windows of `lookback` steps and their targets.

    Window `i` holds rows `s, ..., s + lookback - 1` of `x` with
    `s = i * stride`; its target is row `s + lookback - 1 + horizon` of
    `y` (of `x` itself when `y` is None: the series `horizon` steps
    ahead).

    Args:
        x: array `(steps,)` or `(steps, features)`.
        y: array `(steps,)` or `(steps, targets)`, or None. Default: None.
        lookback: int, steps per window. Default: 10.
        horizon: int >= 1, how far ahead the target is. Default: 1.
        stride: int, steps between window starts. Default: 1.

    Returns:
        `(windows, targets)`: `(n, lookback, features)` and `(n, targets)`
        (`(n,)` for a 1-D `y`), with
        `n = (steps - lookback - horizon) // stride + 1`.

    Example:

    ```python
    import numpy as np

    from toolkit.data import make_windows

    series = np.arange(10.0)
    x, y = make_windows(series, lookback=3, horizon=1)
    x[0, :, 0], y[0]  # ([0., 1., 2.], [3.])
    ```
    """
    lookback = v.check_positive_int("lookback", lookback)
    horizon = v.check_positive_int("horizon", horizon)
    stride = v.check_positive_int("stride", stride)
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    target = x if y is None else np.asarray(y)
    if len(target) != len(x):
        raise ValueError(
            "Arguments `x` and `y` must have as many steps. Received: "
            f"x of shape {x.shape}, y of shape {target.shape}"
        )
    count = (len(x) - lookback - horizon) // stride + 1
    if len(x) < lookback + horizon or count < 1:
        raise ValueError(
            f"Arguments `lookback` and `horizon` need at least "
            f"{lookback + horizon} steps. Received: {len(x)} steps, "
            f"lookback={lookback}, horizon={horizon}"
        )
    starts = np.arange(count) * stride
    windows = x[starts[:, None] + np.arange(lookback)[None, :]]
    return windows, target[starts + lookback - 1 + horizon]


def split_validation(arrays, validation, seed=0, shuffle=True, marks=None):
    """Split arrays of equal length into training and validation parts.

    Args:
        arrays: a list of arrays (or None entries), e.g. `[x, y]`.
        validation: a float in (0, 1), the share held out (the last rows
            when `shuffle` is False); or None (no validation part).
        seed: int or None, the shuffle's seed. Default: 0.
        shuffle: bool, shuffle before splitting. Default: True.
        marks: array of booleans or None: the rows that are validation
            (then `validation` must be None). Default: None.

    Returns:
        `(train, held_out)`, two lists like `arrays` (`held_out` is None
        without a validation part).
    """
    length = len(next(a for a in arrays if a is not None))
    if marks is not None:
        held = np.asarray(marks, dtype=bool)
        order = np.arange(length)
        train_rows, held_rows = order[~held], order[held]
    elif validation is None:
        return list(arrays), None
    else:
        fraction = v.check_in_range(
            "validation",
            validation,
            0.0,
            1.0,
            low_closed=False,
            high_closed=False,
        )
        order = np.arange(length)
        if shuffle:
            order = np.random.default_rng(v.check_seed(seed)).permutation(
                length
            )
        cut = length - int(round(fraction * length))
        train_rows, held_rows = order[:cut], order[cut:]
    if len(train_rows) == 0 or len(held_rows) == 0:
        raise ValueError(
            "Argument `validation` leaves an empty split: "
            f"{len(train_rows)} training and {len(held_rows)} validation "
            f"rows of {length}. Received: validation={validation!r}"
        )

    def take(rows):
        return [None if a is None else a[rows] for a in arrays]

    return take(train_rows), take(held_rows)


def validation_marks(values, column):
    """The rows a validation column marks: booleans or 0/1, or the words
    `validation`/`val`/`valid`/`test` and `train`/`training`."""
    marks = []
    for row, value in enumerate(values):
        key = value.lower() if isinstance(value, str) else value
        if key in VALIDATION_MARKS:
            marks.append(True)
        elif key in TRAINING_MARKS:
            marks.append(False)
        else:
            raise ValueError(
                f"Argument `validation`: column {column!r} must mark rows "
                "with true/false, 1/0, or 'validation'/'train'. Received: "
                f"{value!r} at row {row}"
            )
    return np.asarray(marks, dtype=bool)


def _check_file(name, path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Argument `{name}` must name a file. Received: "
            f"{name}={str(path)!r} (no such file)"
        )
    return path


def _read_frame(path, format):
    import pandas as pd

    if format is None:
        name = path.name.lower()
        format = next(
            (
                kind
                for kind, suffixes in TABLE_SUFFIXES.items()
                if name.endswith(suffixes)
            ),
            None,
        )
        if format is None:
            raise ValueError(
                f"Argument `format`: cannot tell the format of {path.name} "
                f"from its suffix; give one of {sorted(TABLE_SUFFIXES)}. "
                "Received: format=None"
            )
    v.check_choice("format", format, set(TABLE_SUFFIXES))
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as error:
            raise ImportError(
                "Reading Parquet needs pyarrow: `pip install pyarrow` (or "
                '`pip install "curriculum-toolkit[parquet]"`).'
            ) from error
        return pd.read_parquet(path)
    separator = "\t" if path.name.lower().endswith(".tsv") else ","
    return pd.read_csv(path, sep=separator)


def _check_columns(name, columns, frame, path):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Argument `{name}`: no column {missing[0]!r} in {path.name}; "
            f"its columns are {list(frame.columns)}. Received: "
            f"{name}={columns if len(columns) > 1 else columns[0]!r}"
        )


def _check_missing(frame, columns, path):
    missing = frame[columns].isna()
    count = int(missing.to_numpy().sum())
    if count:
        rows, cols = np.nonzero(missing.to_numpy())
        first = int(rows[0])
        raise ValueError(
            f"Argument `path`: {path.name} has {count} missing value(s) "
            f"in the columns used; the first in row {first} (line "
            f"{first + 2} of a CSV with a header), column "
            f"{columns[cols[0]]!r}. Drop or fill them first. Received: "
            f"path={str(path)!r}"
        )


def _check_finite(x, names, path):
    bad = ~np.isfinite(x)
    count = int(bad.sum())
    if count:
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"Argument `path`: {path.name} has {count} infinite value(s); "
            f"the first in row {int(row)}, column {names[col]!r}. Drop or "
            f"clip them first. Received: path={str(path)!r}"
        )


def _codes(values, kept, column, path):
    codes = {value: i for i, value in enumerate(kept)}
    unknown = [value for value in values if value not in codes]
    if unknown:
        raise ValueError(
            f"Argument `categories`: column {column!r} of {path.name} has "
            f"the value {unknown[0]!r}, not among the categories "
            f"{list(kept)} of the training data. Received: "
            f"{len(unknown)} unknown value(s)"
        )
    return np.asarray([codes[value] for value in values], dtype="int64")


def _targets(frame, targets, classes, path):
    values = frame[targets]
    if len(targets) == 1 and not _is_numeric(values.dtypes.iloc[0]):
        column = values.iloc[:, 0]
        if classes is None:
            classes = sorted(column.unique().tolist(), key=str)
        ids = _codes(column, classes, targets[0], path)
        return ids.astype("int32"), list(classes)
    for column in targets:
        if not _is_numeric(frame[column].dtype):
            raise ValueError(
                f"Argument `target`: column {column!r} of {path.name} is "
                "not numeric; several targets must all be numbers. "
                f"Received: target={targets}"
            )
    y = values.to_numpy()
    if np.issubdtype(y.dtype, np.integer):
        y = y.astype("int32")
    else:
        y = y.astype("float32")
        bad = ~np.isfinite(y)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(
                f"Argument `path`: {path.name} has {int(bad.sum())} "
                f"infinite target value(s); the first in row {row}. "
                f"Received: target={targets}"
            )
    return (y[:, 0] if len(targets) == 1 else y), None


def _is_numeric(dtype):
    from pandas.api import types

    return types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype)


def _float32(array):
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype("float32")
    return array


def _label_key(name):
    """Numeric labels in numeric order ('2' before '10'), then words."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)
