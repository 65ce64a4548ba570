"""Recipe for tree classification: a recursive net over encoded trees."""

import keras

from recipes.compile_options import (
    check_compile_options,
    check_preset,
    compile_recipe,
)
from toolkit import layers
from toolkit import validation as v

#: Composers a recipe can use, by name: `name -> (class, options)`.
COMPOSERS = {
    "rnn": (layers.RecursiveComposer, {}),
    "rntn": (layers.RNTNComposer, {}),
    "tree_lstm": (layers.TreeLSTMComposer, {"variant": "n_ary"}),
    "child_sum": (layers.TreeLSTMComposer, {"variant": "child_sum"}),
}

#: Named configurations of `build_tree_classifier`.
PRESETS = {
    "listops_tree_lstm": {
        "composer": "tree_lstm",
        "units": 64,
        "embedding_dim": 32,
        "head_units": 64,
        "learning_rate": 3e-3,
    },
    "sst_rntn": {"composer": "rntn", "units": 25, "labels": "nodes"},
    "sst_tree_lstm": {
        "composer": "tree_lstm",
        "units": 150,
        "embedding_dim": 300,
        "labels": "nodes",
    },
}


def build_tree_classifier(
    vocabulary_size,
    num_classes,
    composer="tree_lstm",
    units=64,
    embedding_dim=None,
    max_children=2,
    labels="root",
    head_units=None,
    embedding_dropout=0.0,
    preset=None,
    compile=True,
    **compile_options,
):
    """A recursive network classifying trees, or every node of them.

    Inputs named `tokens (batch, max_nodes)`, `children (batch, max_nodes,
    max_children)` and `heights (batch, max_nodes)` (the arrays of
    `toolkit.data.encode_trees`; `toolkit.data.tree_inputs` picks them)
    -> `Embedding` of the leaves' tokens (-> `Dropout`) -> a tree composer
    (dynamic batching by height) -> (`Dense(head_units, relu)`) ->
    `Dense(num_classes, softmax)` on the root (`labels="root"`) or on every
    node (`labels="nodes"`).

    Args:
        vocabulary_size: int, number of token ids (`len(vocabulary)`).
        num_classes: int, number of labels.
        composer: a key of `COMPOSERS`: `"rnn"` (Socher et al. 2011),
            `"rntn"` (Socher et al. 2013), `"tree_lstm"` (N-ary Tree-LSTM)
            or `"child_sum"` (Child-Sum Tree-LSTM) (Tai et al. 2015).
            Default: `"tree_lstm"`.
        units: int, size of the node vectors. Default: 64.
        embedding_dim: int or None, size of the word vectors (None:
            `units`; `"rnn"` and `"rntn"` need `units`).
        max_children: int, child slots per node (2 for binary trees).
        labels: `"root"` (one label per tree, `(batch,)`) or `"nodes"`
            (a label per node, `(batch, max_nodes)`, -1 where none; pass
            `sample_weight=encoded["node_weights"]` so that the accuracy
            skips them). Default: `"root"`.
        head_units: int or None, a hidden ReLU layer in the head.
        embedding_dropout: float in [0, 1), dropout on the word vectors.
        preset: None or a key of `PRESETS`, whose values override the
            arguments (and the `learning_rate` compile option):
            `"listops_tree_lstm"` (N-ary Tree-LSTM, 64 units, 32-dimensional
            words, a 64-unit hidden layer, learning rate 3e-3),
            `"sst_rntn"` (RNTN, 25 units, a label per node) and
            `"sst_tree_lstm"` (N-ary Tree-LSTM, 150 units, 300-dimensional
            words, a label per node). Default: None.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here
            `loss="auto"` is sparse categorical cross-entropy (ignoring
            label -1 with `labels="nodes"`) and `metrics="auto"` is
            accuracy (as `weighted_metrics`, weighted by `sample_weight`,
            with `labels="nodes"`).

    Returns:
        A `keras.Model`, compiled unless `compile=False`.

    Example:

    ```python
    from recipes import build_tree_classifier
    from toolkit.data import (Vocabulary, binarize, encode_trees, listops,
                              tree_inputs)

    _, trees, y = listops(2000, seed=0)
    trees = [binarize(t, "left") for t in trees]
    vocab = Vocabulary.from_trees(trees)
    batch = encode_trees(trees, vocab)
    model = build_tree_classifier(len(vocab), 10, preset="listops_tree_lstm")
    model.fit(tree_inputs(batch), y, epochs=2, batch_size=64)
    ```
    """
    options = check_compile_options("build_tree_classifier", compile_options)
    if preset is not None:
        chosen = check_preset(PRESETS, preset)
        composer = chosen.get("composer", composer)
        units = chosen.get("units", units)
        embedding_dim = chosen.get("embedding_dim", embedding_dim)
        labels = chosen.get("labels", labels)
        head_units = chosen.get("head_units", head_units)
        options["learning_rate"] = chosen.get(
            "learning_rate", options["learning_rate"]
        )
    composer = v.check_choice("composer", composer, set(COMPOSERS))
    labels = v.check_choice("labels", labels, {"root", "nodes"})
    vocabulary_size = v.check_positive_int("vocabulary_size", vocabulary_size)
    num_classes = v.check_positive_int("num_classes", num_classes)
    units = v.check_positive_int("units", units)
    max_children = v.check_positive_int("max_children", max_children)
    embedding_dropout = v.check_rate("embedding_dropout", embedding_dropout)
    if embedding_dim is None:
        embedding_dim = units
    embedding_dim = v.check_positive_int("embedding_dim", embedding_dim)
    if composer in ("rnn", "rntn") and embedding_dim != units:
        raise ValueError(
            f"Argument `embedding_dim` must equal `units` ({units}) with "
            f"composer={composer!r}: its leaves are their word vectors. "
            f"Received: embedding_dim={embedding_dim}"
        )
    if composer in ("rnn", "rntn") and max_children != 2:
        raise ValueError(
            f"Argument `max_children` must be 2 with composer={composer!r} "
            f"(binary trees; see `toolkit.data.binarize`). "
            f"Received: max_children={max_children}"
        )
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    children = keras.Input((None, max_children), dtype="int32", name="children")
    heights = keras.Input((None,), dtype="int32", name="heights")
    x = keras.layers.Embedding(
        vocabulary_size, embedding_dim, name="embedding"
    )(tokens)
    if embedding_dropout:
        x = keras.layers.Dropout(embedding_dropout, name="dropout")(x)
    cls, composer_options = COMPOSERS[composer]
    roots, nodes = cls(units, name="composer", **composer_options)(
        x, children, heights
    )
    x = roots if labels == "root" else nodes
    if head_units is not None:
        head_units = v.check_positive_int("head_units", head_units)
        x = keras.layers.Dense(head_units, activation="relu", name="hidden")(x)
    probabilities = keras.layers.Dense(
        num_classes, activation="softmax", name="head"
    )(x)
    model = keras.Model(
        {"tokens": tokens, "children": children, "heights": heights},
        probabilities,
        name=f"{composer}_tree_classifier",
    )
    if compile:
        per_node = labels == "nodes"
        compile_recipe(
            model,
            options,
            keras.losses.SparseCategoricalCrossentropy(
                ignore_class=-1 if per_node else None
            ),
            None if per_node else ["accuracy"],
            weighted_metrics=["accuracy"] if per_node else None,
        )
    return model


def tree_classifier_search_space(hp):
    """Keyword arguments of `build_tree_classifier` drawn from `hp`.

    Tunes `composer` (`"tree_lstm"`, `"child_sum"`; the binary RNN and
    RNTN need `embedding_dim == units` and are left to explicit choice),
    `units`, `embedding_dim`, `embedding_dropout` and `learning_rate`.

    Example:

    ```python
    import keras_tuner

    def build(hp):
        return build_tree_classifier(
            len(vocab), 10, **tree_classifier_search_space(hp))

    tuner = keras_tuner.RandomSearch(build, "val_accuracy", max_trials=8)
    ```
    """
    return {
        "composer": hp.Choice("composer", ["tree_lstm", "child_sum"]),
        "units": hp.Choice("units", [32, 64, 128], default=64),
        "embedding_dim": hp.Choice("embedding_dim", [16, 32, 64], default=32),
        "embedding_dropout": hp.Float(
            "embedding_dropout", 0.0, 0.5, step=0.1, default=0.0
        ),
        "learning_rate": hp.Float(
            "learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3
        ),
    }
