"""The compile options every recipe takes (`recipes.compile_options`)."""

import inspect

import keras
import numpy as np
import pytest

import recipes
from recipes.compile_options import COMPILE_OPTIONS, check_compile_options

#: Every builder, made small; `**options` are its compile options.
BUILDERS = {
    "build_sequence_regressor": lambda **options: (
        recipes.build_sequence_regressor(5, 2, units=3, **options)
    ),
    "build_sequence_tagger": lambda **options: recipes.build_sequence_tagger(
        5, 4, 3, units=3, **options
    ),
    "build_tree_classifier": lambda **options: recipes.build_tree_classifier(
        20, 5, units=4, **options
    ),
    "build_mlp_classifier": lambda **options: recipes.build_mlp_classifier(
        hidden_units=(4,), **options
    ),
    "build_cnn_classifier": lambda **options: recipes.build_cnn_classifier(
        filters=(2,), dense_units=4, **options
    ),
    "build_image_classifier": lambda **options: recipes.build_image_classifier(
        3, (32, 32, 3), backbone="mobilenet_v2", weights=None, **options
    ),
    "build_multitask_model": lambda **options: recipes.build_multitask_model(
        {"digit": {"num_classes": 3}},
        (32, 32, 3),
        backbone="mobilenet_v2",
        weights=None,
        **options,
    ),
}

#: What `loss="auto"` and `metrics="auto"` compile to, per builder.
AUTO = {
    "build_sequence_regressor": ("mse", ["mae"]),
    "build_sequence_tagger": ("sparse_categorical_crossentropy", ["accuracy"]),
    "build_tree_classifier": (
        keras.losses.SparseCategoricalCrossentropy,
        ["accuracy"],
    ),
    "build_mlp_classifier": ("sparse_categorical_crossentropy", ["accuracy"]),
    "build_cnn_classifier": ("sparse_categorical_crossentropy", ["accuracy"]),
    "build_image_classifier": (
        "sparse_categorical_crossentropy",
        ["accuracy"],
    ),
    # One masked loss and metric per task (missing labels left out).
    "build_multitask_model": (dict, dict),
}


def _builder_names():
    return sorted(name for name in dir(recipes) if name.startswith("build_"))


def _rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def test_every_builder_has_a_case():
    assert _builder_names() == sorted(BUILDERS) == sorted(AUTO)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builder_takes_compile_options_once(name):
    parameters = inspect.signature(getattr(recipes, name)).parameters
    assert parameters["compile"].default is True
    variadic = [p for p in parameters.values() if p.kind is p.VAR_KEYWORD]
    assert [p.name for p in variadic] == ["compile_options"]
    assert not set(parameters) & set(COMPILE_OPTIONS)
    doc = getattr(recipes, name).__doc__
    assert doc.count("**compile_options") == 1
    assert "check_compile_options" in doc
    assert 'loss="auto"' in doc and 'metrics="auto"' in doc


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_auto_defaults(name):
    model = BUILDERS[name]()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert _rate(model.optimizer) == pytest.approx(1e-3)
    config = model.optimizer.get_config()
    assert config["clipnorm"] is None and config["clipvalue"] is None
    assert config["global_clipnorm"] is None
    loss, metrics = AUTO[name]
    if loss is dict:
        assert [type(x).__name__ for x in model.loss.values()] == ["MaskedLoss"]
        (task_metrics,) = model.get_compile_config()["metrics"].values()
        assert [m["class_name"] for m in task_metrics] == ["MaskedMetric"]
        return
    if isinstance(loss, str):
        assert model.loss == loss
    else:
        assert isinstance(model.loss, loss)
    assert model.get_compile_config()["metrics"] == metrics


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize(
    "optimizer, cls",
    [("auto", keras.optimizers.Adam), ("sgd", keras.optimizers.SGD)],
)
@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_learning_rate_and_clipping_reach_the_optimizer(
    name, optimizer, cls, clip
):
    model = BUILDERS[name](
        optimizer=optimizer, learning_rate=0.02, **{clip: 0.5}
    )
    assert type(model.optimizer) is cls
    assert _rate(model.optimizer) == pytest.approx(0.02)
    assert model.optimizer.get_config()[clip] == 0.5


def test_optimizer_instance_loss_and_metrics_are_used_as_given():
    optimizer = keras.optimizers.RMSprop(0.05)
    loss = keras.losses.MeanAbsoluteError()
    model = BUILDERS["build_sequence_regressor"](
        optimizer=optimizer, loss=loss, metrics=["mse"], learning_rate=0.9
    )
    assert model.optimizer is optimizer
    assert _rate(model.optimizer) == pytest.approx(0.05)
    assert model.loss is loss
    assert model.get_compile_config()["metrics"] == ["mse"]
    assert model.get_compile_config()["weighted_metrics"] is None


def test_a_schedule_is_a_learning_rate():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model = BUILDERS["build_mlp_classifier"](learning_rate=schedule)
    x = np.zeros((4, 64), "float32")
    model.fit(x, np.zeros(4), epochs=1, batch_size=2, verbose=0)
    expected = float(schedule(2))
    assert _rate(model.optimizer) == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_uncompiled_still_checks_the_option_names(name):
    model = BUILDERS[name](compile=False, learning_rate=0.1)
    assert not model.compiled
    with pytest.raises(TypeError, match="`learnig_rate`"):
        BUILDERS[name](compile=False, learnig_rate=0.1)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_unknown_option_names_it_and_the_allowed_ones(name):
    allowed = ", ".join(repr(key) for key in sorted(COMPILE_OPTIONS))
    match = (
        rf"`{name}` got unknown argument\(s\) `jit_compile`, `lr`: .*"
        rf"compile options are \[{allowed}\]\. "
        r"Received: jit_compile=True, lr=0\.1"
    )
    with pytest.raises(TypeError, match=match):
        BUILDERS[name](lr=0.1, jit_compile=True)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"learning_rate": -0.1}, r"`learning_rate` must be a number in"),
        ({"clipnorm": 0.0}, r"`clipnorm` must be a number in \(0, inf\)"),
        ({"clipvalue": -1}, r"`clipvalue` must be a number in \(0, inf\)"),
        ({"global_clipnorm": "1"}, r"`global_clipnorm` must be a number"),
        ({"optimizer": "adamw2"}, r"`optimizer` must be 'auto'"),
        (
            {"optimizer": keras.optimizers.SGD(), "clipvalue": 1.0},
            "set them on the optimizer instance",
        ),
    ],
)
def test_bad_values(options, match):
    with pytest.raises(ValueError, match=match):
        BUILDERS["build_mlp_classifier"](**options)


def test_check_compile_options_fills_the_defaults():
    options = check_compile_options("build_x", {"clipnorm": 1})
    assert options == {**COMPILE_OPTIONS, "clipnorm": 1.0}
