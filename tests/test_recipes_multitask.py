"""`build_multitask_model`: the shared layers of `build_image_classifier`,
one head per task, masked task losses, learned weights.

Training a real backbone costs minutes on a shared CPU, so the tests that
fit swap `recipes.transfer.image_backbone` for a tiny stand-in named
`"backbone"`; the structure test builds the real ResNet-50 (32x32, no
weights) without compiling it.
"""

import math

import keras
import keras_tuner
import numpy as np
import pytest

from recipes import (
    build_image_classifier,
    build_multitask_model,
    multitask_search_space,
    transfer,
)
from toolkit.layers import ImagePreprocessing
from toolkit.training import MaskedLoss, MaskedMetric, UncertaintyWeightedModel

SHAPE = (32, 32, 3)
TASKS = {
    "digit": {"num_classes": 3},
    "size": {"kind": "regression", "units": 2, "loss_weight": 0.5},
}


@pytest.fixture
def tiny_backbone(monkeypatch):
    """A two-layer stand-in for the ImageNet backbone, same interface."""

    def image_backbone(backbone, input_shape, weights, pooling):
        inputs = keras.Input(input_shape)
        x = keras.layers.AveragePooling2D(8)(inputs)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(6, activation="tanh")(x)
        model = keras.Model(inputs, x, name="backbone")
        return model, ImagePreprocessing("caffe", name="preprocessing")

    monkeypatch.setattr(transfer, "image_backbone", image_backbone)


def _data(rows=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (rows,) + SHAPE).astype("float32")
    y = {
        "digit": rng.integers(0, 3, rows),
        "size": rng.normal(size=(rows, 2)).astype("float32"),
    }
    y["digit"][[1, 5]] = -1
    y["size"][2] = np.nan
    return x, y


def _summary(layer):
    """Name, class and config of a layer, nested models layer by layer
    (their auto-named input layers left out)."""
    if isinstance(layer, keras.Model):
        inner = [
            _summary(sub)
            for sub in layer.layers
            if not isinstance(sub, keras.layers.InputLayer)
        ]
        return layer.name, type(layer).__name__, inner
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    return layer.name, type(layer).__name__, str(config)


def test_shared_layers_are_the_image_classifiers():
    options = dict(
        input_shape=SHAPE,
        weights=None,
        dropout=0.2,
        augmentation={"flip": "horizontal"},
        seed=1,
        compile=False,
    )
    model = build_multitask_model(TASKS, **options)
    # The multitask model leaves the backbone trainable (fine_tune freezes).
    classifier = build_image_classifier(3, freeze_backbone=False, **options)
    names = [layer.name for layer in model.layers]
    assert names == [
        "image",
        "augmentation",
        "preprocessing",
        "backbone",
        "dropout",
        "digit",
        "size",
    ]
    shared = names.index("backbone") + 1
    assert [_summary(layer) for layer in model.layers[:shared]] == [
        _summary(layer) for layer in classifier.layers[:shared]
    ]
    assert model.get_layer("backbone").count_params() == (
        classifier.get_layer("backbone").count_params()
    )
    assert tuple(model.get_layer("digit").output.shape) == (None, 3)
    assert tuple(model.get_layer("size").output.shape) == (None, 2)
    assert model.get_layer("digit").get_config()["activation"] == "softmax"
    assert model.get_layer("size").get_config()["activation"] == "linear"


def test_compiled_loss_is_the_weighted_sum_of_masked_losses(tiny_backbone):
    model = build_multitask_model(TASKS, input_shape=SHAPE, weights=None)
    x, y = _data()
    p = model.predict(x, verbose=0)
    d, s = y["digit"] != -1, ~np.isnan(y["size"]).any(axis=1)
    ce = -np.log(p["digit"][d, y["digit"][d]]).mean()
    mse = ((p["size"][s] - y["size"][s]) ** 2).mean()
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], ce + 0.5 * mse, rtol=1e-5)
    accuracy = (p["digit"].argmax(axis=1) == y["digit"])[d].mean()
    np.testing.assert_allclose(
        logs["digit_sparse_categorical_accuracy"], accuracy, rtol=1e-6
    )
    mae = np.abs(p["size"][s] - y["size"][s]).mean()
    np.testing.assert_allclose(logs["size_mean_absolute_error"], mae, 1e-5)


def test_a_task_with_no_labels_leaves_its_head_untouched(tiny_backbone):
    model = build_multitask_model(
        TASKS, input_shape=SHAPE, weights=None, optimizer="sgd"
    )
    x, y = _data()
    y["size"][:] = np.nan
    before = {t: model.get_layer(t).kernel.numpy().copy() for t in TASKS}
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.array_equal(
        model.get_layer("size").kernel.numpy(), before["size"]
    )
    assert not np.allclose(
        model.get_layer("digit").kernel.numpy(), before["digit"]
    )


def test_uncertainty_weighting_trains_saves_and_loads(tiny_backbone, tmp_path):
    model = build_multitask_model(
        TASKS,
        input_shape=SHAPE,
        weights=None,
        uncertainty_weighting=True,
        learning_rate=0.05,
    )
    assert type(model) is UncertaintyWeightedModel
    assert model.task_loss_weights == {"digit": 1.0, "size": 0.5}
    x, y = _data()
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0).history
    assert len(set(history["digit_weight"])) == 2
    weights = model.task_weights()
    assert weights["digit"] != pytest.approx(1.0)
    assert weights["size"] != pytest.approx(0.5)
    path = tmp_path / "multitask.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is UncertaintyWeightedModel
    assert isinstance(loaded.task_losses["digit"], MaskedLoss)
    assert loaded.task_weights() == weights
    expected, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for task in TASKS:
        np.testing.assert_allclose(got[task], expected[task], atol=1e-6)
    # Training on after reload: tests/test_multitask.py, on a tiny model.


def test_task_options_reach_the_model(tiny_backbone):
    tasks = {
        "kind": {"num_classes": 4, "missing_label": 99, "metrics": "accuracy"},
        "value": {"kind": "regression", "metrics": ["mse", "mae"]},
    }
    model = build_multitask_model(
        tasks, input_shape=SHAPE, weights=None, pooling=None
    )
    assert tuple(model.get_layer("kind").output.shape) == (None, 4)
    assert tuple(model.get_layer("value").output.shape) == (None, 1)
    assert "flatten" in [layer.name for layer in model.layers]
    config = model.get_compile_config()
    loss = keras.saving.deserialize_keras_object(config["loss"]["kind"])
    assert loss.missing_label == 99
    assert math.isnan(
        keras.saving.deserialize_keras_object(
            config["loss"]["value"]
        ).missing_label
    )
    x, y = _data()
    y = {
        "kind": np.where(y["digit"] == -1, 99, y["digit"]),
        "value": y["size"][:, :1],
    }
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert {
        "kind_sparse_categorical_accuracy",
        "value_mean_squared_error",
        "value_mean_absolute_error",
    } <= set(logs)
    assert all(np.isfinite(value) for value in logs.values())
    custom = build_multitask_model(
        tasks,
        input_shape=SHAPE,
        weights=None,
        metrics={"kind": [MaskedMetric("sparse_categorical_accuracy", 99)]},
    )
    assert custom.get_compile_config()["metrics"]["kind"][0]["class_name"] == (
        "MaskedMetric"
    )


def test_multitask_search_space():
    hp = keras_tuner.HyperParameters()
    values = multitask_search_space(hp)
    assert set(values) == {
        "learning_rate",
        "dropout",
        "pooling",
        "uncertainty_weighting",
    }
    assert values["uncertainty_weighting"] is False
    assert values["pooling"] == "avg"


TASK_ERRORS = [
    ({}, "`tasks` must be a non-empty dict"),
    ([("a", {"num_classes": 2})], "`tasks` must be a non-empty dict"),
    ({"backbone": {"num_classes": 2}}, "non-empty string names"),
    ({"": {"num_classes": 2}}, "non-empty string names"),
    ({"a": 3}, r"`tasks\['a'\]` must be a dict"),
    ({"a": {"num_classes": 2, "units": 2}}, "give `num_classes`, not"),
    ({"a": {"kind": "regression", "num_classes": 2}}, "give `units`"),
    ({"a": {"units": 2}}, "must give `num_classes`"),
    ({"a": {"kind": "ranking", "units": 1}}, r"\['kind'\]` must be one"),
    ({"a": {"num_classes": 1}}, "must be an integer >= 2"),
    ({"a": {"num_classes": 2.5}}, "must be an integer >= 2"),
    ({"a": {"num_classes": True}}, "must be an integer >= 2"),
    ({"a": {"kind": "regression", "units": 0}}, r"\['units'\]` must be"),
    (
        {"a": {"num_classes": 2, "loss_weight": -1}},
        r"`tasks\['a'\]\['loss_weight'\]`",
    ),
    ({"a": {"num_classes": 2, "weight": 1}}, "unknown keys"),
    (
        {"a": {"kind": "regression", "metrics": "accuracy"}},
        "`metric` must name the metric",
    ),
]


def test_task_errors(tiny_backbone):
    for tasks, match in TASK_ERRORS:
        with pytest.raises(ValueError, match=match):
            build_multitask_model(tasks, input_shape=SHAPE, weights=None)


def test_argument_errors():
    with pytest.raises(TypeError, match=r"\['missing_label'\]` must be a"):
        build_multitask_model(
            {"a": {"num_classes": 2, "missing_label": "?"}},
            input_shape=SHAPE,
            weights=None,
        )
    with pytest.raises(ValueError, match="`uncertainty_weighting` must be"):
        build_multitask_model(TASKS, uncertainty_weighting="yes")
    with pytest.raises(TypeError, match="unknown argument"):
        build_multitask_model(TASKS, loss_weights={"digit": 1})
