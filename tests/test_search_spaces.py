import keras
import keras_tuner
import numpy as np
import pytest

from recipes import build_mlp_classifier
from toolkit import initializers
from toolkit.tuning import (
    RecipeHyperModel,
    bias_initializer_space,
    combine_spaces,
    dropout_space,
    initializer_space,
    learning_rate_space,
    regularization_space,
)


def _hp(**values):
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hp


def test_names_and_defaults():
    hp = keras_tuner.HyperParameters()
    assert learning_rate_space(hp) == {"learning_rate": 1e-3}
    assert dropout_space(hp) == {"dropout": 0.0}
    assert regularization_space(hp) == {"kernel_regularizer": None}
    init = initializer_space(hp)["kernel_initializer"]
    assert isinstance(init, keras.initializers.GlorotUniform)
    bias = bias_initializer_space(hp)["bias_initializer"]
    assert bias.get_config()["value"] == 0.0
    lr = hp._hps["learning_rate"][0]
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-1, "log")
    assert hp._hps["kernel_regularizer"][0].values == [
        "none",
        "l1",
        "l2",
        "elastic_net",
    ]
    assert hp._hps["bias_initializer"][0].values == [0.0, 0.01, 0.1]
    assert hp._hps["kernel_initializer"][0].values == [
        "glorot_uniform",
        "he_normal",
        "orthogonal",
        "sparse",
    ]


def test_regularization_kinds_and_conditional_strengths():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], "float32")
    expected = {
        "l1": 1e-3 * np.abs(x).sum(),
        "l2": 1e-2 * (x**2).sum(),
        "elastic_net": 1e-3 * np.abs(x).sum() + 1e-2 * (x**2).sum(),
    }
    for kind, penalty in expected.items():
        hp = _hp(
            kernel_regularizer=kind,
            kernel_regularizer_l1=1e-3,
            kernel_regularizer_l2=1e-2,
        )
        regularizer = regularization_space(hp)["kernel_regularizer"]
        assert float(regularizer(x)) == pytest.approx(penalty, rel=1e-5)
        active = {p.name for p in hp.space if hp.is_active(p)}
        assert ("kernel_regularizer_l1" in active) == (kind != "l2")
        assert ("kernel_regularizer_l2" in active) == (kind != "l1")
    hp = _hp(kernel_regularizer="none")
    regularization_space(hp)
    assert not hp.is_active("kernel_regularizer_l1")


def test_initializers_include_sparse_and_spectral_radius():
    hp = _hp(kernel_initializer="sparse")
    sparse = initializer_space(hp, sparse_nonzero=4, seed=1)[
        "kernel_initializer"
    ]
    assert isinstance(sparse, initializers.Sparse)
    matrix = keras.ops.convert_to_numpy(sparse((20, 6)))
    assert ((matrix != 0).sum(axis=0) == 4).all()
    name = "cell_options.recurrent_initializer"
    hp = _hp(**{name: "spectral_radius", f"{name}_radius": 0.8})
    spectral = initializer_space(
        hp,
        choices=("orthogonal", "spectral_radius"),
        default="orthogonal",
        name=name,
        seed=2,
    )[name]
    matrix = keras.ops.convert_to_numpy(spectral((16, 16)))
    # Independent check of the radius: the largest eigenvalue modulus.
    assert np.abs(np.linalg.eigvals(matrix)).max() == pytest.approx(
        0.8, rel=1e-4
    )
    hp = _hp(kernel_initializer="he_normal")
    he = initializer_space(hp, seed=3)["kernel_initializer"]
    assert isinstance(he, keras.initializers.HeNormal)
    assert he.get_config()["seed"] == 3


def test_recipe_hypermodel_merges_fixed_spaces_and_dotted_keys():
    calls = []

    def builder(**arguments):
        calls.append(arguments)
        return arguments

    def nested(hp):
        return {"cell_options.dropout": hp.Float("cell_dropout", 0, 0.5)}

    hypermodel = RecipeHyperModel(
        builder,
        [learning_rate_space, nested],
        fixed={"units": 8, "cell_options": {"peephole": True}},
    )
    hp = keras_tuner.HyperParameters()
    built = hypermodel.build(hp)
    assert built == {
        "units": 8,
        "learning_rate": 1e-3,
        "cell_options": {"peephole": True, "dropout": 0.0},
    }
    assert hypermodel.name == "builder"
    combined = combine_spaces(learning_rate_space, dropout_space)
    assert combined(keras_tuner.HyperParameters()) == {
        "learning_rate": 1e-3,
        "dropout": 0.0,
    }


def test_two_trial_search(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((64, 64)).astype("float32")
    y = rng.integers(0, 10, 64)
    hypermodel = RecipeHyperModel(
        build_mlp_classifier,
        [
            learning_rate_space,
            dropout_space,
            regularization_space,
            initializer_space,
            bias_initializer_space,
        ],
        fixed={"hidden_units": (8,)},
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective="val_loss",
        max_trials=2,
        seed=0,
        directory=tmp_path,
        project_name="search",
    )
    tuner.search(
        x, y, validation_split=0.25, epochs=1, batch_size=16, verbose=0
    )
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2
    assert all(t.status == "COMPLETED" for t in trials)
    assert {
        "learning_rate",
        "dropout",
        "kernel_regularizer",
        "kernel_initializer",
        "bias_initializer",
    } <= set(trials[0].hyperparameters.values)


SPACE_ERRORS = [
    (
        ValueError,
        "`min_value` must be numbers low",
        lambda hp: learning_rate_space(hp, min_value=1e-1, max_value=1e-3),
    ),
    (
        ValueError,
        "`default` must lie in",
        lambda hp: learning_rate_space(hp, default=1.0),
    ),
    (
        ValueError,
        "`max_value` must be a number",
        lambda hp: dropout_space(hp, max_value=1.0),
    ),
    (
        ValueError,
        "`kinds` must be a non-empty",
        lambda hp: regularization_space(hp, kinds=("l3",)),
    ),
    (
        ValueError,
        "`default` must be one of",
        lambda hp: regularization_space(hp, kinds=("l1", "l2")),
    ),
    (
        ValueError,
        "`choices` must be a non-empty",
        lambda hp: initializer_space(hp, choices=()),
    ),
    (
        ValueError,
        "`radius_range` must be numbers",
        lambda hp: initializer_space(hp, radius_range=(1.5, 0.5)),
    ),
    (
        ValueError,
        "`default` must be one of",
        lambda hp: bias_initializer_space(hp, default=0.5),
    ),
    (
        TypeError,
        "must be a function `hp -> dict`",
        lambda hp: combine_spaces(learning_rate_space, 3),
    ),
    (
        TypeError,
        "must return a dict",
        lambda hp: combine_spaces(lambda hp: 0.1)(hp),
    ),
    (
        TypeError,
        "`builder` must be a function",
        lambda hp: RecipeHyperModel("mlp"),
    ),
    (
        TypeError,
        "`spaces` must be a function",
        lambda hp: RecipeHyperModel(
            build_mlp_classifier, [learning_rate_space, 1]
        ),
    ),
    (
        TypeError,
        "`fixed` must be a dict",
        lambda hp: RecipeHyperModel(build_mlp_classifier, fixed=[1]),
    ),
]


@pytest.mark.parametrize(
    "error, match, call",
    SPACE_ERRORS,
    ids=[
        "learning_rate_range",
        "learning_rate_default",
        "dropout_max",
        "regularization_kinds",
        "regularization_default",
        "initializer_choices",
        "initializer_radius",
        "bias_default",
        "combine_not_callable",
        "space_not_dict",
        "builder",
        "spaces",
        "fixed",
    ],
)
def test_errors(error, match, call):
    hp = keras_tuner.HyperParameters()
    with pytest.raises(error, match=match):
        call(hp)
