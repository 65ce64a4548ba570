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
"""

from keras.src.backend import rnn
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

__all__ = [
    "DropoutRNNCell",
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
