"""`ProjectedRNN`: the base of the sequence layers over the cells, with an
optional hoisted input projection."""

import keras

from toolkit._keras_compat import rnn
from toolkit.layers.rnn.projected_cell import refuse_recurrent_activation


class ProjectedRNN(keras.layers.RNN):
    """A `keras.layers.RNN` over a `ProjectedCell`, with a flat config.

    Each subclass (`LSTM`, `GRU`, `LeakyRNN`, `SkipRNN`, `ClockworkRNN`)
    takes its cell's arguments and the RNN layer's (`return_sequences`,
    `return_state`, `go_backwards`, `stateful`, `unroll`,
    `zero_output_for_mask`) explicitly, like `keras.layers.LSTM`, builds
    the cell and passes it here; the config is the flat union of both.

    With `hoist_projection=True` the cell's input projection
    `W_x x_t (+ b)`, which does not depend on the recurrence, is computed
    for all time steps in one matrix product before the loop, and the loop
    runs only the recurrent part (`cell.step`). The result is the same
    (the tests check it). It is off by default: on TensorFlow's CPU loop
    the per-step input then grows from `features` to
    `num_blocks * units` columns, and reading it and its gradient cost more
    than the per-step products saved (`bench/rnn_cells.py` measures it).

    Subclasses set `cell_class` and build the cell in `__init__`.
    """

    cell_class = None

    def __init__(self, cell, hoist_projection=False, **kwargs):
        refuse_recurrent_activation(type(cell).__name__, kwargs)
        super().__init__(cell, **kwargs)
        self.hoist_projection = bool(hoist_projection)

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != 3:
            raise ValueError(
                f"`{type(self).__name__}` expects inputs of rank 3 "
                "(batch, timesteps, features). Received: inputs of shape "
                f"{tuple(sequences_shape)}"
            )
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            states = (
                list(initial_state)
                if isinstance(initial_state, (list, tuple))
                else [initial_state]
            )
            self.cell._check_states(states)
        return super().call(
            sequences,
            initial_state=initial_state,
            mask=mask,
            training=training,
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.hoist_projection:
            return super().inner_loop(
                sequences, initial_state, mask, training=training
            )
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        projected = self.cell.project_inputs(sequences, training=training)

        def step(projected_t, states):
            output, new_states = self.cell.step(
                projected_t, list(states), training=training
            )
            return output, new_states

        return rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {
            **config,
            **cell_config,
            "hoist_projection": self.hoist_projection,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
