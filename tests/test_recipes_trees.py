"""The tree classifier recipe and its search space."""

import keras
import keras_tuner
import numpy as np
import pytest

from recipes import build_tree_classifier, tree_classifier_search_space
from recipes.trees import COMPOSERS, PRESETS
from tests.helpers import assert_saves_and_loads
from toolkit.data import (
    Vocabulary,
    binarize,
    encode_trees,
    listops,
    sentiment_treebank_sample,
    tree_dataset,
    tree_inputs,
)


@pytest.fixture(scope="module")
def sst():
    trees = sentiment_treebank_sample()
    vocab = Vocabulary.from_trees(trees)
    return vocab, encode_trees(trees, vocab)


@pytest.mark.parametrize("composer", sorted(COMPOSERS))
def test_root_level_fit_save_load(composer, sst, tmp_path):
    vocab, batch = sst
    model = build_tree_classifier(
        len(vocab), 5, composer=composer, units=8, head_units=4
    )
    assert model.output_shape == (None, 5)
    assert model.get_layer("composer").units == 8
    history = model.fit(
        tree_inputs(batch),
        batch["root_labels"],
        batch_size=4,
        epochs=1,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"][0])
    assert set(history.history) == {"loss", "accuracy"}
    assert_saves_and_loads(model, tree_inputs(batch), tmp_path)


def test_node_level_labels_with_tf_data(sst):
    vocab, batch = sst
    model = build_tree_classifier(
        len(vocab), 5, composer="rntn", units=6, labels="nodes"
    )
    data = tree_dataset(
        batch,
        batch["labels"],
        batch_size=5,
        shuffle=True,
        seed=0,
        sample_weight=batch["node_weights"],
    )
    history = model.fit(data, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    predictions = model.predict(tree_inputs(batch), verbose=0)
    assert predictions.shape == (*batch["heights"].shape, 5)
    # weighted accuracy counts labelled nodes only: compare by hand
    weights = batch["node_weights"]
    hits = (predictions.argmax(-1) == batch["labels"]) * weights
    expected = hits.sum() / weights.sum()
    got = model.evaluate(
        tree_inputs(batch),
        batch["labels"],
        sample_weight=weights,
        verbose=0,
        return_dict=True,
    )["accuracy"]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_trimmed_batches_give_the_same_predictions(sst):
    vocab, batch = sst
    model = build_tree_classifier(len(vocab), 5, units=8)
    full = model.predict(tree_inputs(batch), verbose=0)
    trimmed = model.predict(
        tree_dataset(batch, batch["root_labels"], 3), verbose=0
    )
    np.testing.assert_allclose(trimmed, full, atol=1e-6)


def test_learns_flat_listops_max():
    """Depth-1 MAX/MIN lists are learnable in a few epochs: a check that
    gradients reach the leaves through the dynamic-batching loop."""
    _, trees, labels = listops(400, max_depth=1, max_args=3, seed=0)
    trees = [binarize(t, "left") for t in trees]
    vocab = Vocabulary.from_trees(trees)
    batch = encode_trees(trees, vocab)
    model = build_tree_classifier(
        len(vocab),
        10,
        units=32,
        embedding_dim=16,
        head_units=32,
        learning_rate=1e-2,
    )
    data = tree_dataset(batch, labels, 32, shuffle=True, seed=0)
    history = model.fit(data, epochs=6, shuffle=False, verbose=0)
    assert history.history["accuracy"][-1] > 0.35  # chance is 0.1


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_build_with_their_values(preset):
    values = PRESETS[preset]
    # A preset key this test does not check must be added to it.
    assert set(values) <= {
        "composer",
        "units",
        "embedding_dim",
        "head_units",
        "labels",
        "learning_rate",
    }
    model = build_tree_classifier(20, 5, preset=preset, compile=False)
    assert not model.compiled
    cls, options = COMPOSERS[values["composer"]]
    composer = model.get_layer("composer")
    assert type(composer) is cls
    for key, value in options.items():
        assert getattr(composer, key) == value
    assert composer.units == values["units"]
    embedding_dim = values.get("embedding_dim", values["units"])
    assert model.get_layer("embedding").output_dim == embedding_dim
    names = [layer.name for layer in model.layers]
    if "head_units" in values:
        assert model.get_layer("hidden").units == values["head_units"]
    else:
        assert "hidden" not in names
    if values.get("labels", "root") == "root":
        assert model.output_shape == (None, 5)
    else:
        assert model.output_shape == (None, None, 5)
    # The preset's learning rate overrides the compile option.
    compiled = build_tree_classifier(20, 5, preset=preset, learning_rate=0.5)
    rate = keras.ops.convert_to_numpy(compiled.optimizer.learning_rate)
    assert float(rate) == pytest.approx(values.get("learning_rate", 0.5))


def test_docstring_names_every_preset():
    for preset in PRESETS:
        assert f'`"{preset}"`' in build_tree_classifier.__doc__


def test_search_space_and_two_trial_search(sst, tmp_path):
    hp = keras_tuner.HyperParameters()
    values = tree_classifier_search_space(hp)
    assert values == {
        "composer": "tree_lstm",
        "units": 64,
        "embedding_dim": 32,
        "embedding_dropout": 0.0,
        "learning_rate": 1e-3,
    }
    vocab, batch = sst

    def build(hp):
        kwargs = tree_classifier_search_space(hp)
        kwargs.update(units=4, embedding_dim=4)
        return build_tree_classifier(len(vocab), 5, **kwargs)

    tuner = keras_tuner.RandomSearch(
        build,
        objective="loss",
        max_trials=2,
        seed=0,
        directory=tmp_path,
        project_name="trees",
    )
    tuner.search(tree_inputs(batch), batch["root_labels"], epochs=1, verbose=0)
    assert len(tuner.oracle.trials) == 2


def test_custom_compile_arguments(sst):
    vocab, _ = sst
    model = build_tree_classifier(
        len(vocab),
        5,
        optimizer="sgd",
        learning_rate=0.5,
        clipnorm=1.0,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[],
    )
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.clipnorm == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"composer": "lstm"}, "Argument `composer`"),
        ({"labels": "leaves"}, "Argument `labels`"),
        ({"units": 0}, "Argument `units`"),
        (
            {"composer": "rnn", "units": 8, "embedding_dim": 4},
            "Argument `embedding_dim` must equal `units`",
        ),
        (
            {"composer": "rntn", "max_children": 3},
            "Argument `max_children` must be 2",
        ),
        ({"embedding_dropout": 1.0}, "Argument `embedding_dropout`"),
        ({"head_units": -1}, "Argument `head_units`"),
        ({"preset": "nope"}, "Argument `preset`"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_tree_classifier(20, 5, **kwargs)
