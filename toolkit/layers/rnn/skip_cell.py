"""Skip connections through time: recurrent connections from `h_{t-d}`."""

import numbers

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.rnn.projected_cell import ProjectedCell


def check_delays(delays, name="delays", distinct=True):
    """A non-empty tuple of (distinct) positive ints, else a clear error."""
    message = (
        f"Argument `{name}` must be a non-empty list of "
        + ("distinct " if distinct else "")
        + f"positive integers, e.g. (1, 8). Received: {name}={delays!r}"
    )
    if isinstance(delays, numbers.Integral) and not isinstance(delays, bool):
        delays = (delays,)
    try:
        delays = tuple(delays)
    except TypeError as error:
        raise ValueError(message) from error
    if not delays or (distinct and len(set(delays)) != len(delays)):
        raise ValueError(message)
    try:
        return tuple(v.check_positive_int(name, d) for d in delays)
    except ValueError as error:
        raise ValueError(message) from error


@register
class SkipCell(ProjectedCell):
    """A recurrent cell with connections skipping through time.

    Each delay `d` in `delays` adds a recurrent connection from the state
    `d` steps back (Deep Learning, section 10.9.1):

    ```
    h_t = g(W x_t + sum_{d in delays} U_d h_{t-d} + b)
    ```

    With `delays=(1, 8)` the gradient reaches a step `tau` steps back
    through about `tau / 8` factors instead of `tau`. With one delay
    `delays=(d,)` and no length-one connection the cell is one layer of a
    dilated RNN (Chang et al. 2017); `toolkit.layers.dilated_stack` stacks
    such layers with dilations 1, 2, 4, ...

    The state holds the last `D = max(delays)` hidden states, newest first:
    the list `[h_{t-1}, h_{t-2}, ..., h_{t-D}]`, each `(batch, units)`, so
    that a step only relabels them; states before the sequence start are
    zeros. A masked step keeps the whole state, so delays count unmasked
    steps. The `U_d` are stacked in `recurrent_kernel` of shape
    `(len(delays) * units, units)`, in the order of `delays`, so a step is
    one matrix product of the gathered `[h_{t-d}]` with it.

    Args:
        units: int, the size of `h_t`.
        delays: positive ints, the delays `d`, distinct. Default: `(1, 8)`.
        activation: `g`. Default: `"tanh"`.
        use_bias: bool. Default: `True`.
        layer_norm: bool, layer-normalise the pre-activation, the bias
            becoming the shift. Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the stacked
            recurrent weights `U_d`. Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the stacked
            recurrent weights `U_d`. Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the stacked
            recurrent weights `U_d`. Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on every `h_{t-d}`
            where it enters `h_t`, one mask for all delays and steps.
            Default: 0.
        seed: int >= 0 or None, seed of the dropout masks. Default: `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch, features)`, one time step.
        states: list `[h_{t-1}, ..., h_{t-D}]`, each `(batch, units)`.
        training: bool, whether dropout is active.

    Returns:
        `(h_t, [h_t, h_{t-1}, ..., h_{t-D+1}])`.

    Example:

    ```python
    import keras
    from toolkit.layers import SkipCell

    x = keras.random.normal((8, 100, 2))
    y = keras.layers.RNN(SkipCell(32, delays=(1, 10)))(x)  # (8, 32)
    ```

    Reference:
        Lin, Horne, Tino & Giles, "Learning long-term dependencies in NARX
        recurrent neural networks", 1996; Chang et al., "Dilated recurrent
        neural networks", NIPS 2017; Goodfellow, Bengio & Courville, "Deep
        Learning", section 10.9.1.
    """

    num_blocks = 1

    def __init__(
        self,
        units,
        delays=(1, 8),
        activation="tanh",
        use_bias=True,
        layer_norm=False,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        units = v.check_positive_int("units", units)
        activation = v.get_activation("activation", activation)
        layer_norm_epsilon = v.check_positive(
            "layer_norm_epsilon", layer_norm_epsilon
        )
        kernel_initializer = v.get_initializer(
            "kernel_initializer", kernel_initializer
        )
        recurrent_initializer = v.get_initializer(
            "recurrent_initializer", recurrent_initializer
        )
        bias_initializer = v.get_initializer(
            "bias_initializer", bias_initializer
        )
        kernel_regularizer = v.get_regularizer(
            "kernel_regularizer", kernel_regularizer
        )
        recurrent_regularizer = v.get_regularizer(
            "recurrent_regularizer", recurrent_regularizer
        )
        bias_regularizer = v.get_regularizer(
            "bias_regularizer", bias_regularizer
        )
        kernel_constraint = v.get_constraint(
            "kernel_constraint", kernel_constraint
        )
        recurrent_constraint = v.get_constraint(
            "recurrent_constraint", recurrent_constraint
        )
        bias_constraint = v.get_constraint("bias_constraint", bias_constraint)
        dropout = v.check_rate("dropout", dropout)
        recurrent_dropout = v.check_rate("recurrent_dropout", recurrent_dropout)
        seed = v.check_seed(seed)
        delays = check_delays(delays)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.layer_norm = bool(layer_norm)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.delays = delays
        self.max_delay = max(delays)
        self.state_size = [units] * self.max_delay
        self.output_size = units

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "The last dimension of the inputs to `SkipCell` must be "
                f"defined. Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            shape=(features, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(len(self.delays) * self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias or self.layer_norm:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.gamma = None
        if self.layer_norm:
            self.gamma = self.add_weight(
                shape=(self.units,),
                name="layer_norm_gamma",
                initializer="ones",
            )

    def _check_states(self, states):
        widths = [s.shape[-1] for s in states]
        if len(states) != self.max_delay or any(
            w not in (None, self.units) for w in widths
        ):
            raise ValueError(
                f"`SkipCell` expects max(delays)={self.max_delay} state "
                f"tensors, each of shape (batch, {self.units}). Received: "
                f"{[tuple(s.shape) for s in states]}"
            )

    def step(self, projected, states, training=False):
        """One step from the projected inputs `W x_t (+ b)`."""
        states = list(states)
        delayed = [
            self._dropped_state(states[d - 1], training) for d in self.delays
        ]
        delayed = (
            delayed[0]
            if len(delayed) == 1
            else ops.concatenate(delayed, axis=-1)
        )
        h = self.recur(projected, delayed)
        return h, [h] + states[:-1]

    def recur(self, projected, delayed):
        """`h_t` from `W x_t (+ b)` and the `h_{t-d}` concatenated in the
        order of `delays`, `(batch, len(delays) * units)`."""
        return self.activate(
            projected + ops.matmul(delayed, self.recurrent_kernel)
        )

    def delay_kernel(self, delay):
        """`U_d`, the `(units, units)` block of `recurrent_kernel` for one of
        the `delays`."""
        j = self.delays.index(delay)
        return self.recurrent_kernel[j * self.units : (j + 1) * self.units]

    def get_config(self):
        config = super().get_config()
        config["delays"] = list(self.delays)
        return config
