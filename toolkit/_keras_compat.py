"""The one place that touches Keras's or keras-tuner's private state.

Each name below leans on something Keras or keras-tuner does not promise
to keep; `tests/test_keras_compat.py` checks every one of them and fails
loudly, saying what changed, on a release that changes it.

- `DropoutRNNCell`: Keras does not export its dropout-mask mixin for RNN
  cells. Cells that want Keras's "same mask at every time step" behaviour
  (Gal & Ghahramani 2016), and want `keras.layers.RNN` to prepare and reset
  those masks, must inherit from this exact class: the RNN layer checks
  `isinstance`.
- `rnn`: the backend's time loop behind `keras.layers.RNN` (masking,
  `go_backwards`, unrolling), which Keras does not export as `keras.ops`.
- `replace_optimizer_attribute`: puts a value on an optimizer past its
  variable tracking (`MomentumScheduler`'s momentum variable).
- `stored_learning_rate`: the learning rate or schedule an optimizer was
  given (the LR range test refuses schedules).
- `set_steps_per_execution`: swaps a model's compiled train function (the
  LR range test runs one batch per execution for a while).
- `set_oracle_seed`: a keras-tuner oracle seeded with 0 (the sweep).
- `optimizer_variable_index`: where a variable (or its per-device copy
  under `tf.distribute`) sits in an optimizer's variable list
  (`DiscriminativeOptimizer` finds a variable's group in `update_step`).
- `layer_call_outputs`: the output tensors of each call of a layer in
  the functional graphs it was called in (`fine_tune` cuts a model at
  its backbone's output).
- `reset_initial_epoch`: forgets the epoch `BackupAndRestore` told a
  model to start from (`fine_tune` runs two `fit`s on one model).
"""

from keras.src.backend import rnn
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

__all__ = [
    "DropoutRNNCell",
    "layer_call_outputs",
    "optimizer_variable_index",
    "reset_initial_epoch",
    "replace_optimizer_attribute",
    "rnn",
    "set_oracle_seed",
    "set_steps_per_execution",
    "stored_learning_rate",
]


def replace_optimizer_attribute(optimizer, name, value):
    """Set `optimizer.<name> = value` without Keras tracking `value`.

    A Keras optimizer's `__setattr__` adds every variable it is given to
    its own variables, which would change its slot list and checkpoint
    layout; `MomentumScheduler` wants its momentum variable read by the
    training step and nothing else.
    """
    object.__setattr__(optimizer, name, value)


def stored_learning_rate(optimizer):
    """What the optimizer was given as its learning rate: a variable
    holding a float, or a `LearningRateSchedule` (or None if unknown).

    The public `optimizer.learning_rate` evaluates a schedule at the
    current step, so only the private `_learning_rate` tells a schedule
    from a float.
    """
    return getattr(optimizer, "_learning_rate", None)


def set_steps_per_execution(model, steps, train_function=None):
    """From the next `fit` on, run `steps` batches per compiled call.

    Keras compiles `fit`'s step for `steps_per_execution` batches once and
    caches it in `model.train_function`; `None` makes the next `fit`
    compile a new one. Pass the returned pair back to put the model as it
    was, its compiled function included (no second trace).

    Returns:
        `(steps_per_execution, train_function)` the model had.
    """
    previous = (model.steps_per_execution, model.train_function)
    model.steps_per_execution = steps
    model.train_function = train_function
    return previous


def set_oracle_seed(oracle, seed):
    """Seed a keras-tuner oracle with `seed`, 0 included.

    An oracle reads a seed of 0 as none (`seed or random.randint(...)`) and
    draws its random values from the private counter `_seed_state`, which
    starts at the seed.
    """
    oracle.seed = seed
    oracle._seed_state = seed


def optimizer_variable_index(optimizer, variable):
    """The index of `variable` in the list `optimizer` was built on.

    Inside `update_step` the TensorFlow backend hands over the raw
    `tf.Variable` (a per-device copy under `tf.distribute`), not the Keras
    variable; only the optimizer's private key tells them apart.
    """
    return optimizer._get_variable_index(variable)


def reset_initial_epoch(model):
    """Forget the starting epoch `BackupAndRestore` set on `model`.

    `BackupAndRestore.on_train_begin` sets the private `_initial_epoch`,
    which every later `fit` of the model reads in place of its own
    `initial_epoch`.
    """
    model._initial_epoch = None


def layer_call_outputs(layer):
    """One list of output tensors per call of `layer` in a functional
    graph, in call order.

    `layer.output` answers for the first call only, and a nested
    functional model answers with its own inner output instead; the
    graph nodes of each call are private (`_inbound_nodes`).
    """
    return [list(node.output_tensors) for node in layer._inbound_nodes]
