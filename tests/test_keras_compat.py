"""Fails loudly if Keras or keras-tuner changes what the toolkit adapts.

Each test guards one name of `toolkit._keras_compat` and says, when it
fails, what changed and which part of the toolkit to revisit."""

import keras
import keras_tuner
import numpy as np
import pytest
import tensorflow as tf

from toolkit import _keras_compat


def test_dropout_mixin_is_the_one_keras_rnn_checks():
    from keras.src.layers.rnn import rnn as keras_rnn

    assert keras_rnn.DropoutRNNCell is _keras_compat.DropoutRNNCell
    assert hasattr(_keras_compat.DropoutRNNCell, "get_dropout_mask")
    assert hasattr(_keras_compat.DropoutRNNCell, "reset_dropout_mask")


def test_backend_rnn_runs_a_step_function():
    x = keras.ops.ones((2, 3, 1))

    def step(inputs, states):
        total = states[0] + inputs
        return total, [total]

    last, outputs, states = _keras_compat.rnn(
        step, x, [keras.ops.zeros((2, 1))]
    )
    assert keras.ops.convert_to_numpy(last).tolist() == [[3.0], [3.0]]
    assert outputs.shape == (2, 3, 1)


@pytest.mark.parametrize(
    "optimizer, attribute",
    [
        (lambda: keras.optimizers.SGD(0.1, momentum=0.9), "momentum"),
        (lambda: keras.optimizers.Adam(0.1, beta_1=0.9), "beta_1"),
    ],
    ids=["sgd_momentum", "adam_beta_1"],
)
def test_momentum_is_a_float_and_the_swap_is_not_tracked(optimizer, attribute):
    optimizer = optimizer()
    value = getattr(optimizer, attribute)
    assert isinstance(value, float), (
        f"Keras now stores {type(optimizer).__name__}.{attribute} as "
        f"{type(value).__name__}, not a float: revisit MomentumScheduler's "
        "variable swap (toolkit/training/schedules.py)."
    )
    optimizer.build([keras.Variable(np.ones(3, "float32"))])
    before = [variable.path for variable in optimizer.variables]
    variable = keras.Variable(0.5, trainable=False, name="scheduled")
    _keras_compat.replace_optimizer_attribute(optimizer, attribute, variable)
    assert getattr(optimizer, attribute) is variable
    after = [variable.path for variable in optimizer.variables]
    assert after == before, (
        "The swapped momentum variable joined the optimizer's variables: "
        "`object.__setattr__` no longer bypasses Keras's tracking."
    )


def test_compiled_sgd_step_reads_the_swapped_momentum_every_step():
    from toolkit.training.schedules import _ScheduledValue

    lr, gradient = 0.1, np.array([1.0], "float32")
    weight = keras.Variable(np.array([1.0], "float32"))
    optimizer = keras.optimizers.SGD(lr, momentum=0.9)
    optimizer.build([weight])
    momentum = _ScheduledValue(0.9, dtype="float32", trainable=False)
    _keras_compat.replace_optimizer_attribute(optimizer, "momentum", momentum)

    @tf.function
    def step():
        optimizer.apply([tf.constant(gradient)], [weight])

    step()
    momentum.assign(0.5)
    step()
    # velocity_1 = -lr g; velocity_2 = 0.5 velocity_1 - lr g.
    velocity_1 = -lr * 1.0
    velocity_2 = 0.5 * velocity_1 - lr * 1.0
    expected = 1.0 + velocity_1 + velocity_2
    np.testing.assert_allclose(
        weight.numpy(),
        [expected],
        rtol=1e-6,
        err_msg=(
            "SGD's compiled step no longer reads `self.momentum` at every "
            "step (or no longer through `momentum != 0` and `ops.cast`): "
            "MomentumScheduler's swapped variable has no effect."
        ),
    )


def test_stored_learning_rate_tells_a_schedule_from_a_float():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    stored = _keras_compat.stored_learning_rate(keras.optimizers.SGD(schedule))
    assert stored is schedule, (
        "Keras no longer keeps the schedule an optimizer was given in "
        "`optimizer._learning_rate`: the LR range test cannot refuse "
        f"schedules any more. Found: {stored!r}"
    )
    stored = _keras_compat.stored_learning_rate(keras.optimizers.SGD(0.1))
    assert isinstance(stored, keras.Variable), (
        "Keras no longer keeps a float learning rate as a variable in "
        f"`optimizer._learning_rate`. Found: {stored!r}"
    )
    assert float(stored.numpy()) == pytest.approx(0.1)


class _BatchEnds(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def on_train_batch_end(self, batch, logs=None):
        self.calls += 1


def test_steps_per_execution_and_the_cached_train_function_can_be_swapped():
    x = np.ones((32, 2), "float32")
    y = np.ones((32, 1), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=1)
    model.fit(x, y, batch_size=4, verbose=0)
    compiled = model.train_function
    assert compiled is not None, (
        "Keras no longer caches fit's compiled step in "
        "`model.train_function`: revisit the LR range test's "
        "`_one_batch_per_execution`."
    )
    previous = _keras_compat.set_steps_per_execution(model, 4)
    assert previous == (1, compiled)
    ends = _BatchEnds()
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[ends])
    assert ends.calls == 2, (
        "A `steps_per_execution` set after `compile` no longer takes "
        f"effect at the next `fit`: 8 batches gave {ends.calls} batch-end "
        "calls, expected 2 (one per execution of 4)."
    )
    _keras_compat.set_steps_per_execution(model, *previous)
    ends = _BatchEnds()
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[ends])
    assert ends.calls == 8
    assert model.train_function is compiled, (
        "`fit` recompiled although `model.train_function` was put back: "
        "Keras no longer reuses the cached train function."
    )


def _draws(oracle, trials=3):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Int("n", 1, 100)
    oracle.update_space(hp)
    return [oracle.populate_space(str(i))["values"] for i in range(trials)]


def test_set_oracle_seed_sets_what_keras_tuner_draws_from():
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective="val_loss", max_trials=3, seed=7
    )
    assert hasattr(oracle, "_seed_state"), (
        "keras-tuner's Oracle has no `_seed_state` any more: the sweep's "
        "seed 0 (toolkit/tuning/sweep.py) needs another way."
    )
    _keras_compat.set_oracle_seed(oracle, 5)
    assert oracle.seed == 5
    reference = keras_tuner.oracles.RandomSearchOracle(
        objective="val_loss", max_trials=3, seed=5
    )
    assert _draws(oracle) == _draws(reference), (
        "An oracle given seed 5 by `set_oracle_seed` draws other values "
        "than one created with seed=5: keras-tuner no longer draws from "
        "`seed` and `_seed_state` alone."
    )
    zero = keras_tuner.oracles.RandomSearchOracle(
        objective="val_loss", max_trials=3, seed=0
    )
    _keras_compat.set_oracle_seed(zero, 0)
    again = keras_tuner.oracles.RandomSearchOracle(
        objective="val_loss", max_trials=3, seed=0
    )
    _keras_compat.set_oracle_seed(again, 0)
    assert _draws(zero) == _draws(again)


def test_layer_call_outputs_give_the_outer_call_of_a_nested_model():
    inner_input = keras.Input((3,))
    inner = keras.Model(inner_input, keras.layers.Dense(2)(inner_input))
    outer_input = keras.Input((3,))
    called = inner(outer_input)
    assert inner.output is not called  # why the compat function exists
    (outputs,) = _keras_compat.layer_call_outputs(inner)
    assert outputs == [called]


def test_optimizer_variable_index_reads_the_raw_tf_variable():
    variables = [keras.Variable(np.zeros(2)), keras.Variable(np.ones(3))]
    optimizer = keras.optimizers.SGD()
    optimizer.build(variables)
    assert _keras_compat.optimizer_variable_index(optimizer, variables[1]) == 1
    raw = variables[1].value  # what update_step receives on TensorFlow
    assert isinstance(raw, tf.Variable)
    assert _keras_compat.optimizer_variable_index(optimizer, raw) == 1


def test_backup_and_restore_sets_the_initial_epoch_a_reset_forgets(tmp_path):
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x = np.ones((4, 1))
    backup = keras.callbacks.BackupAndRestore(
        str(tmp_path), delete_checkpoint=False
    )
    model.fit(x, x, epochs=2, callbacks=[backup], verbose=0)
    history = model.fit(x, x, epochs=3, callbacks=[backup], verbose=0)
    assert history.epoch == [2]  # resumed at the saved epoch
    assert model._initial_epoch == 2
    _keras_compat.reset_initial_epoch(model)
    assert model.fit(x, x, epochs=1, verbose=0).epoch == [0]
