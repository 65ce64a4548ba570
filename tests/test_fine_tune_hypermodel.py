"""`FineTuneHyperModel`: hyperparameter names and defaults, how a trial's
values reach the builder and `fine_tune`, and a real two-trial sweep."""

import keras
import keras_tuner
import numpy as np
import pytest
from test_fine_tune import images, tiny_backbone

from toolkit.tuning import FineTuneHyperModel, fine_tune_space, sweep


def build(num_classes=3, dropout=0.0):
    backbone = tiny_backbone()
    image = keras.Input(backbone.input_shape[1:], name="image")
    features = backbone(image, training=False)
    features = keras.layers.Dropout(dropout, name="dropout")(features)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", name="predictions"
    )(features)
    model = keras.Model(image, outputs)
    model.compile(
        "adam", "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def test_names_defaults_and_where_values_go():
    hypermodel = FineTuneHyperModel(
        build,
        lambda hp: fine_tune_space(hp, unfreeze=("conv5_", "conv4_")),
        fixed={"num_classes": 3, "fine_tune.phase_1_learning_rate": 0.01},
        fine_tune_options={"cache_features": True},
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert set(hp.values) == {"phase_2_learning_rate", "unfreeze", "dropout"}
    assert hp.values["unfreeze"] == "conv5_"
    assert hp.values["dropout"] == 0.0
    assert model.get_layer("dropout").rate == 0.0
    options = hypermodel.fine_tune_arguments(hp, epochs=5)
    assert options == {
        "cache_features": True,
        "learning_rate": (0.01, pytest.approx(1e-5)),
        "unfreeze": "conv5_",
        "epochs": (3, 2),
    }


def test_two_trial_sweep(tmp_path):
    x, y = images(16)
    hypermodel = FineTuneHyperModel(
        build,
        fine_tune_space,
        fine_tune_options={"epochs": (1, 1), "learning_rate": (1e-2, 1e-3)},
    )
    frame = sweep(
        hypermodel, (x, y), validation_data=(x, y), max_trials=2,
        batch_size=8, directory=str(tmp_path), project_name="fine",
        seed=0, verbose=0,
    )  # fmt: skip
    assert len(frame) == 2
    assert set(frame["status"]) == {"completed"}
    assert frame["best_val_loss"].notna().all()
    # Both phases' epochs reach the trial's record.
    assert (frame["epochs"] == 2).all()
    assert frame["unfreeze"].isin(["conv5_", "conv4_"]).all()


def test_errors():
    with pytest.raises(ValueError, match="`fine_tune_options`"):
        FineTuneHyperModel(build, fine_tune_options={"epoch": 3})
    hypermodel = FineTuneHyperModel(build, fixed={"fine_tune.lr": 1.0})
    with pytest.raises(ValueError, match="`fine_tune`"):
        hypermodel.fine_tune_arguments(keras_tuner.HyperParameters())
    x, y = images(8)
    with pytest.raises(ValueError, match="validation_split"):
        FineTuneHyperModel(build).fit(
            keras_tuner.HyperParameters(), build(), x, y,
            validation_split=0.5,
        )  # fmt: skip
    np.testing.assert_equal(len(x), 8)
