"""Checks of training data, run before anything trains.

`check_data` looks at the arrays themselves (empty, non-numeric, NaN or
infinite values, `x` and `y` of different lengths); `check_fits_model`
looks at them against a built model (the input shape it takes, the
targets its loss can score). `toolkit.tuning.sweep` and
`toolkit.training.lr_range_test` call `check_data` first, so bad data
fails with its reason instead of giving trials with no losses.

Example:

```python
import numpy as np

from toolkit.data import check_data

x = np.zeros((4, 3), "float32")
x[2, 1] = np.nan
try:
    check_data((x, np.zeros(4)), "data")
except ValueError as error:
    print(error)  # ... 1 NaN or infinite value(s) in x; the first at row 2
```
"""

import numpy as np

from toolkit import validation as v

#: Losses whose targets are class ids `0..num_classes-1`, one per sample.
SPARSE_LOSSES = ("sparse_categorical_crossentropy",)
#: Losses whose targets are one-hot (or probability) rows.
DENSE_CLASS_LOSSES = ("categorical_crossentropy",)


def check_data(data, name="data"):
    """Check a data set before training; return it unchanged.

    Args:
        data: None (nothing to check), a `tf.data.Dataset` (not read, so
            not checked), `(x, y)` or `(x, y, sample_weight)`, or `x`
            alone. Each of `x` and `y` may be a NumPy array (or anything
            `numpy.asarray` takes), a list or a dict of them.
        name: str, the argument's name in the messages. Default: `"data"`.

    Returns:
        `data`.

    Raises:
        ValueError: when a part is empty, is not numeric, holds NaN or
            infinite values (the count and the first row are named), or
            when its parts have different numbers of samples.
    """
    if data is None or v.is_dataset(data):
        return data
    if isinstance(data, tuple) and len(data) in (2, 3):
        parts = dict(zip(("x", "y", "sample_weight"), data))
    else:
        parts = {"x": data}
    lengths = {}
    for part, value in parts.items():
        if value is None or v.is_dataset(value):
            continue
        for label, array in _arrays(part, value):
            length = _check_array(name, label, array)
            # A list may be an ESN's sequences, each of its own length.
            if not isinstance(value, list):
                lengths[label] = length
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"Argument `{name}` must have as many samples in each part. "
            f"Received: {lengths}"
        )
    return data


def check_fits_model(model, x, y, name="data"):
    """Check that a built model takes `x` and that its loss can score `y`.

    Checks the input shape (every dimension but the batch's), and the
    targets against the loss: class ids `0..K-1` (integers, `K` the
    model's output units) for sparse categorical cross-entropy, one-hot
    rows of width `K` for categorical cross-entropy, the output's shape
    for any other loss.

    Args:
        model: a compiled `keras.Model`.
        x: the inputs (array, list or dict of arrays, keyed by input name).
        y: the targets (array), or None (not checked).
        name: str, the data's name in the messages. Default: `"data"`.

    Raises:
        ValueError: naming the shape expected and received, or the
            targets' problem (not integers, out of range, wrong width).
    """
    _check_inputs(model, x, name)
    several = isinstance(y, (list, tuple)) and y and not np.isscalar(y[0])
    if y is None or isinstance(y, dict) or several:
        return
    y = np.asarray(y)
    output = tuple(model.output_shape[1:])
    loss = _loss_name(model.loss)
    if loss in SPARSE_LOSSES:
        classes = output[-1]
        if np.issubdtype(y.dtype, np.floating) and not np.all(
            np.equal(np.mod(y, 1), 0)
        ):
            first = int(np.flatnonzero(np.mod(y.ravel(), 1) != 0)[0])
            value = y.ravel()[first].item()
            raise ValueError(
                f"Argument `{name}`: the targets must be class ids 0.."
                f"{classes - 1} for the loss {loss}, but some are not "
                f"integers (the first at row {first}: {value!r}). "
                "Name a categorical target column, or use a regression "
                f"recipe. Received: y of dtype {y.dtype}"
            )
        if y.size and (y.min() < 0 or y.max() >= classes):
            bad = int(
                np.flatnonzero((y.ravel() < 0) | (y.ravel() >= classes))[0]
            )
            raise ValueError(
                f"Argument `{name}`: the targets must be class ids 0.."
                f"{classes - 1} (the model has num_classes={classes}), "
                f"but they range over {y.min()}..{y.max()} (the first out "
                f"of range at row {bad}). Set `num_classes` to at least "
                f"{int(y.max()) + 1} in `fixed`. Received: y of shape "
                f"{y.shape}"
            )
        return
    expected = output
    received = tuple(y.shape[1:])
    if received != expected and not (
        expected == (1,) and received == () and loss not in DENSE_CLASS_LOSSES
    ):
        raise ValueError(
            f"Argument `{name}`: the model's output has shape "
            f"{(None, *expected)} and its loss {loss} needs targets of "
            f"that shape. Received: y of shape {y.shape}"
        )


def _arrays(part, value):
    if isinstance(value, dict):
        return [(f"{part}[{key!r}]", item) for key, item in value.items()]
    if isinstance(value, list) and value and not np.isscalar(value[0]):
        return [(f"{part}[{i}]", item) for i, item in enumerate(value)]
    return [(part, value)]


def _check_array(name, label, array):
    array = np.asarray(array)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(
            f"Argument `{name}` must not be empty: {label} has no samples. "
            f"Received: {label} of shape {array.shape}"
        )
    if array.dtype == bool:
        return len(array)
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"Argument `{name}` must be numeric: {label} has dtype "
            f"{array.dtype}. Encode text or categories first (e.g. "
            "`toolkit.data.read_table(..., categorical=[...])`). "
            f"Received: {label} of shape {array.shape}"
        )
    if np.issubdtype(array.dtype, np.inexact):
        bad = ~np.isfinite(array)
        count = int(bad.sum())
        if count:
            first = np.argwhere(bad)[0]
            where = f"row {first[0]}"
            if len(first) > 1:
                where += f", position {tuple(int(i) for i in first[1:])}"
            raise ValueError(
                f"Argument `{name}` must be finite: {count} NaN or infinite "
                f"value(s) in {label}; the first at {where}. Drop or fill "
                f"them first. Received: {label} of shape {array.shape}"
            )
    return len(array)


def _check_inputs(model, x, name):
    shapes = model.input_shape
    if isinstance(x, dict):
        names = [tensor.name for tensor in model.inputs]
        missing = sorted(set(names) - set(x))
        if missing:
            raise ValueError(
                f"Argument `{name}` lacks the model's inputs {missing}. "
                f"Received: inputs {sorted(x)}"
            )
        pairs = [
            (f"x[{key!r}]", np.asarray(x[key]), shape)
            for key, shape in zip(names, _as_list(shapes))
        ]
    elif isinstance(x, (list, tuple)):
        pairs = [
            (f"x[{i}]", np.asarray(item), shape)
            for i, (item, shape) in enumerate(zip(x, _as_list(shapes)))
        ]
    else:
        pairs = [("x", np.asarray(x), _as_list(shapes)[0])]
    for label, array, shape in pairs:
        expected = tuple(shape[1:])
        received = tuple(array.shape[1:])
        fits = len(expected) == len(received) and all(
            e is None or e == r for e, r in zip(expected, received)
        )
        if not fits:
            raise ValueError(
                f"Argument `{name}`: the model takes inputs of shape "
                f"{(None, *expected)} but {label} has shape {array.shape}. "
                "Set the recipe's input shape in `fixed` (e.g. "
                "`input_shape`), or reshape the data. Received: "
                f"{label} of shape {array.shape}"
            )


def _as_list(shapes):
    if isinstance(shapes, list):
        return shapes
    if isinstance(shapes, dict):
        return list(shapes.values())
    return [shapes]


def _loss_name(loss):
    if isinstance(loss, str):
        return loss
    name = getattr(loss, "name", None) or getattr(loss, "__name__", "")
    return str(name)
