"""Regenerate the `.keras` files of the format-stability test.

Each public model and recipe, at a tiny size, is saved as `<name>.keras`
beside its inputs and outputs `<name>.npz`; `tests/test_format.py` loads
every file (safe mode on) and must get the same outputs. Run this only
when a release changes the format on purpose, from the repository root:

    python tests/data/format/make.py [NAME ...]

(only the files of the names given, or every file when none is given)

and commit the files it writes (a few KB each).
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import recipes  # noqa: E402
from toolkit.data import Vocabulary, binarize, encode_trees, listops  # noqa: E402
from toolkit.data.trees import tree_inputs  # noqa: E402
from toolkit.models import ESN  # noqa: E402
from toolkit.training import FlowRegularizedRNN  # noqa: E402

SEQUENCE_CELLS = ("lstm", "gru", "leaky", "skip", "clockwork", "dilated")
COMPOSERS = ("rnn", "rntn", "tree_lstm", "child_sum")


def _rng():
    return np.random.default_rng(0)


def _sequence(cell):
    model = recipes.build_sequence_regressor(5, 2, cell=cell, units=4)
    return model, _rng().standard_normal((2, 5, 2)).astype("float32")


def _tree(composer):
    _, trees, _ = listops(3, max_depth=2, max_args=3, seed=0)
    trees = [binarize(t) for t in trees]
    vocab = Vocabulary.from_trees(trees)
    model = recipes.build_tree_classifier(
        len(vocab), 3, composer=composer, units=3, embedding_dim=3
    )
    return model, tree_inputs(encode_trees(trees, vocab))


def _esn():
    series = np.sin(np.arange(60) / 4.0)[:, None].astype("float32")
    model = ESN(units=8, connectivity=0.5, seed=0)
    model.fit(series[:-1], series[1:], washout=5)
    return model, series[None, :10]


def _flow():
    model = FlowRegularizedRNN(
        keras.layers.SimpleRNNCell(3), head=keras.layers.Dense(1)
    )
    x = _rng().standard_normal((2, 4, 2)).astype("float32")
    model(x)
    return model, x


BUILDERS = {
    "mlp_classifier": lambda: (
        recipes.build_mlp_classifier((6,), 3, hidden_units=(4,)),
        _rng().standard_normal((2, 6)).astype("float32"),
    ),
    "cnn_classifier": lambda: (
        recipes.build_cnn_classifier((6, 6, 1), 3, filters=(2,), dense_units=3),
        _rng().standard_normal((2, 6, 6, 1)).astype("float32"),
    ),
    "sequence_tagger": lambda: (
        recipes.build_sequence_tagger(5, 7, 3, embedding_dim=2, units=3),
        _rng().integers(1, 7, (2, 5)).astype("int32"),
    ),
    **{
        f"sequence_regressor_{cell}": (lambda c=cell: _sequence(c))
        for cell in SEQUENCE_CELLS
    },
    **{
        f"tree_classifier_{composer}": (lambda c=composer: _tree(c))
        for composer in COMPOSERS
    },
    "esn": _esn,
    "flow_regularized_rnn": _flow,
}


def pack(inputs):
    """The inputs as `.npz` entries: `x`, or `x:<name>` for a dict."""
    if isinstance(inputs, dict):
        return {f"x:{k}": np.asarray(v) for k, v in inputs.items()}
    return {"x": np.asarray(inputs)}


def unpack(entries):
    if "x" in entries:
        return entries["x"]
    return {k[2:]: entries[k] for k in entries if k.startswith("x:")}


def outputs(model, inputs):
    """The model's outputs for `inputs`, as one NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(model(inputs)))


def main(names=()):
    """Write the files of `names` (every model when empty)."""
    unknown = sorted(set(names) - set(BUILDERS))
    if unknown:
        raise SystemExit(f"unknown names {unknown}; known: {sorted(BUILDERS)}")
    for name, build in BUILDERS.items():
        if names and name not in names:
            continue
        keras.utils.set_random_seed(0)
        model, inputs = build()
        model.save(HERE / f"{name}.keras")
        np.savez(HERE / f"{name}.npz", y=outputs(model, inputs), **pack(inputs))
        print(f"wrote {name}.keras and {name}.npz")


if __name__ == "__main__":
    main(sys.argv[1:])
