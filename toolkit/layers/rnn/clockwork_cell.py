"""The clockwork RNN cell (Koutnik et al. 2014)."""

import keras
import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.rnn.projected_cell import ProjectedCell
from toolkit.layers.rnn.skip_cell import check_delays


@register
class ClockworkCell(ProjectedCell):
    """Modules of units updating at different periods, slow feeding fast.

    The notes' "removing connections" (Deep Learning, section 10.9.3): the
    `units` are split into `len(periods)` equal modules; module `k` has
    period `T_k` and is updated only at the steps `t` (counted from 0) with
    `t mod T_k == 0`, keeping its value otherwise. A module receives
    recurrent connections only from modules at least as slow as itself, so
    a slow module is not disturbed by fast ones and carries information
    over long lags:

    ```
    a_t = W_x x_t + (W_h * M) h_{t-1} + b,   M[j, i] = 1 if T(j) >= T(i)
    h_t[i] = g(a_t[i])   if t mod T(i) == 0      (T(i): period of unit i)
    h_t[i] = h_{t-1}[i]  otherwise
    ```

    `W_h` is `recurrent_kernel` of shape `(units, units)` (rows: from,
    columns: to); the mask `M` is applied in every step and at
    initialisation, so the removed connections stay exactly zero.

    The time index `t` travels in the state, as a float `(batch, 1)`
    counter (exact up to 2^24 steps): a stateful layer continues the clock
    across batches, and a masked step keeps the state (clock included), so
    the modules tick on unmasked steps only. Every module updates at the
    first step.

    Args:
        units: int, divisible by `len(periods)`.
        periods: positive ints, one per module, distinct. Koutnik et al.
            use `1, 2, 4, ...`. Default: `(1, 2, 4, 8)`.
        activation: `g`. Default: `"tanh"`.
        use_bias: bool. Default: `True`.
        layer_norm: bool, layer-normalise `a_t` over all units, the bias
            becoming the shift. Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W_x`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the recurrent
            weights `W_h` (masked by `M`). Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the recurrent
            weights `W_h` (masked by `M`). Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the recurrent
            weights `W_h` (masked by `M`). Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on `h_{t-1}` where it
            enters `a_t`, same mask at every step. Default: 0.
        seed: int >= 0 or None, seed of the dropout masks. Default: `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch, features)`, one time step.
        states: list `[h_{t-1}, t]`, shapes `(batch, units)` and
            `(batch, 1)`.
        training: bool, whether dropout is active.

    Returns:
        `(h_t, [h_t, t + 1])`.

    Example:

    ```python
    import keras
    from toolkit.layers import ClockworkCell

    x = keras.random.normal((8, 100, 2))
    cell = ClockworkCell(64, periods=(1, 2, 4, 8, 16, 32, 64, 128))
    y = keras.layers.RNN(cell)(x)  # (8, 64)
    ```

    Reference:
        Koutnik, Greff, Gomez & Schmidhuber, "A clockwork RNN", ICML 2014;
        Goodfellow, Bengio & Courville, "Deep Learning", section 10.9.3.
    """

    num_blocks = 1

    def __init__(
        self,
        units,
        periods=(1, 2, 4, 8),
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
        periods = check_delays(periods, name="periods")
        if units % len(periods):
            raise ValueError(
                "Argument `units` must be divisible by the number of "
                f"modules, len(periods)={len(periods)}. "
                f"Received: units={units}"
            )
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
        self.periods = periods
        self.module_size = units // len(periods)
        #: The period of every unit, `(units,)`.
        self.unit_periods = np.repeat(periods, self.module_size)
        #: `M[j, i] = 1` where unit `j` may feed unit `i`.
        self.connection_mask = (
            self.unit_periods[:, None] >= self.unit_periods[None, :]
        )
        self.state_size = [units, 1]
        self.output_size = units

    def build(self, input_shape):
        super().build(input_shape)
        # The removed connections start (and, masked in `step`, stay) at 0.
        self.recurrent_kernel.assign(
            self.recurrent_kernel
            * ops.convert_to_tensor(
                self.connection_mask, dtype=self.recurrent_kernel.dtype
            )
        )

    def _check_states(self, states):
        shapes = [tuple(s.shape) for s in states]
        widths = [s[-1] for s in shapes]
        if (
            len(states) != 2
            or widths[0] not in (None, self.units)
            or (widths[1] not in (None, 1))
        ):
            raise ValueError(
                "`ClockworkCell` expects two state tensors: h of shape "
                f"(batch, {self.units}) and the time index of shape "
                f"(batch, 1). Received: shapes {shapes}"
            )

    def masked_recurrent_kernel(self):
        """`W_h * M`: the recurrent kernel without the removed connections."""
        return self.recurrent_kernel * ops.convert_to_tensor(
            self.connection_mask, dtype=self.recurrent_kernel.dtype
        )

    def schedule(self, time):
        """Which units update at clock value `time` (any shape `(..., 1)`):
        a boolean tensor `(..., units)`, `time mod T(i) == 0`."""
        periods = ops.convert_to_tensor(self.unit_periods, dtype=time.dtype)
        return ops.equal(ops.mod(time, periods), 0.0)

    def candidate(self, projected, h_tm1, kernel, training=False):
        """`g(W_x x_t + (W_h * M) h_{t-1} + b)`, the value of the units
        that update, from the masked recurrent kernel."""
        return self.activate(
            projected + ops.matmul(self._dropped_state(h_tm1, training), kernel)
        )

    def update(self, projected, active, h_tm1, kernel, training=False):
        """`h_t` from `W_x x_t (+ b)`, the units' `active` flags, `h_{t-1}`
        and the masked recurrent kernel."""
        return ops.where(
            active, self.candidate(projected, h_tm1, kernel, training), h_tm1
        )

    def step(self, projected, states, training=False):
        """One step from the projected inputs `W_x x_t (+ b)`."""
        h_tm1, time = states
        h = self.update(
            projected,
            self.schedule(time),
            h_tm1,
            self.masked_recurrent_kernel(),
            training,
        )
        return h, [h, time + 1.0]

    def get_config(self):
        config = super().get_config()
        config["periods"] = list(self.periods)
        return config
