"""Leaky units: a recurrent cell with a linear self-connection per unit."""

import math
import numbers

import keras
import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.rnn.projected_cell import ProjectedCell

MODES = ("fixed", "spectrum", "learned")


def _check_alpha(alpha, units):
    """A fixed `alpha`: a number or `units` numbers, each in [0, 1)."""
    if isinstance(alpha, numbers.Real):
        return v.check_in_range("alpha", alpha, 0.0, 1.0, high_closed=False)
    message = (
        "Argument `alpha` must be a number in [0, 1) or a list of "
        f"`units`={units} numbers in [0, 1). Received: alpha={alpha!r}"
    )
    try:
        if np.ndim(alpha) != 1 or len(alpha) != units:
            raise ValueError(message)
        return [
            v.check_in_range("alpha", a, 0.0, 1.0, high_closed=False)
            for a in alpha
        ]
    except ValueError as error:
        raise ValueError(message) from error


@register
class LeakyCell(ProjectedCell):
    """A recurrent cell of leaky units: each unit is a running average.

    The notes' leaky unit (Deep Learning, section 10.9.2): the unit's new
    value `v_t` is mixed into its old one through a linear self-connection
    of weight `alpha` (per unit):

    ```
    v_t = g(W_x x_t + W_h h_{t-1} + b)
    h_t = alpha * h_{t-1} + (1 - alpha) * v_t
    ```

    With `alpha` near 1 the unit remembers for about `tau = 1 / (1 - alpha)`
    steps, and the gradient through `h_{t-1} -> h_t` has a linear path of
    weight `alpha` that does not vanish as fast as `g'(.) W_h`. `alpha = 0`
    is a plain (Elman) recurrent unit. `alpha` comes in three modes:

    - `"fixed"`: `alpha` given, a number or one number per unit, in [0, 1).
    - `"spectrum"` (default): a spectrum of time scales sampled once, at
      initialisation: `log tau ~ U(log tau_min, log tau_max)` per unit and
      `alpha = 1 - 1 / tau`; kept fixed afterwards (stored as a
      non-trainable weight, so a saved model keeps its time scales).
    - `"learned"`: `alpha = sigmoid(w)` with a trainable `w` per unit, which
      keeps `alpha` inside (0, 1); initialised from the spectrum
      (`w = log(tau - 1)`).

    `W_x x_t + b` does not depend on the recurrence: `project_inputs` and
    `step` let `toolkit.layers.LeakyRNN(hoist_projection=True)` compute it
    for a whole sequence before the time loop.

    Args:
        units: int, the number of leaky units.
        mode: `"fixed"`, `"spectrum"` or `"learned"`. Default: `"spectrum"`.
        alpha: with `mode="fixed"` only: a float in [0, 1) or a list of
            `units` floats in [0, 1). Default: `None`.
        tau_min: float >= 1 (> 1 with `"learned"`), the shortest time
            constant of the spectrum. Default: 2.0.
        tau_max: float >= `tau_min`, the longest. Default: 100.0.
        activation: `g`. Default: `"tanh"`.
        use_bias: bool. Default: `True`.
        layer_norm: bool, layer-normalise the pre-activation of `v_t`, the
            bias becoming the shift. Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W_x`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the recurrent
            weights `W_h`. Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the recurrent
            weights `W_h`. Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the recurrent
            weights `W_h`. Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on `h_{t-1}` where it
            enters `v_t` (not on the self-connection). Default: 0.
        seed: int >= 0 or None, seeds the spectrum and the dropout masks.
            Default: `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch, features)`, one time step.
        states: list `[h_{t-1}]` of shape `(batch, units)`.
        training: bool, whether dropout is active.

    Returns:
        `(h_t, [h_t])`.

    Example:

    ```python
    import keras
    from toolkit.layers import LeakyCell

    x = keras.random.normal((8, 200, 2))
    cell = LeakyCell(32, mode="learned", tau_min=2, tau_max=200)
    y = keras.layers.RNN(cell)(x)  # (8, 32)
    ```

    Reference:
        Mozer, "Induction of multiscale temporal structure", NIPS 1992;
        Jaeger, Lukosevicius, Popovici & Siewert, "Optimization and
        applications of echo state networks with leaky-integrator
        neurons", 2007; Goodfellow, Bengio & Courville, "Deep Learning",
        section 10.9.2.
    """

    num_blocks = 1

    def __init__(
        self,
        units,
        mode="spectrum",
        alpha=None,
        tau_min=2.0,
        tau_max=100.0,
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
        mode = v.check_choice("mode", mode, set(MODES))
        if mode == "fixed":
            if alpha is None:
                raise ValueError(
                    "Argument `alpha` is required with mode='fixed': a "
                    "number in [0, 1) or a list of `units` numbers. "
                    "Received: alpha=None"
                )
            alpha = _check_alpha(alpha, units)
        elif alpha is not None:
            raise ValueError(
                "Argument `alpha` is only used with mode='fixed'; with "
                f"mode={mode!r} the time scales come from `tau_min` and "
                f"`tau_max`. Received: alpha={alpha!r}"
            )
        tau_min = v.check_in_range("tau_min", tau_min, 1.0, float("inf"))
        tau_max = v.check_in_range("tau_max", tau_max, 1.0, float("inf"))
        if tau_max < tau_min:
            raise ValueError(
                "Argument `tau_max` must be >= `tau_min`. Received: "
                f"tau_min={tau_min}, tau_max={tau_max}"
            )
        if mode == "learned" and tau_min <= 1.0:
            raise ValueError(
                "Argument `tau_min` must be > 1 with mode='learned' "
                "(alpha = sigmoid(w) cannot reach 0). "
                f"Received: tau_min={tau_min}"
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
        self.mode = mode
        self.alpha = alpha
        self.tau_min = tau_min
        self.tau_max = tau_max
        self.state_size = units
        self.output_size = units

    def _log_tau_initializer(self):
        """Draws `log tau ~ U(log tau_min, log tau_max)` per unit."""
        return keras.initializers.RandomUniform(
            math.log(self.tau_min), math.log(self.tau_max), seed=self.seed
        )

    def build(self, input_shape):
        super().build(input_shape)
        shape = (self.units,)
        if self.mode == "fixed":
            values = np.broadcast_to(np.asarray(self.alpha), shape)

            def initializer(shape, dtype=None):
                return ops.convert_to_tensor(values, dtype=dtype)

        else:
            draw = self._log_tau_initializer()
            if self.mode == "spectrum":

                def initializer(shape, dtype=None):
                    return 1.0 - ops.exp(-draw(shape, dtype=dtype))

            else:

                def initializer(shape, dtype=None):
                    tau = ops.exp(draw(shape, dtype=dtype))
                    return ops.log(ops.maximum(tau - 1.0, 1e-6))

        if self.mode == "learned":
            self.alpha_logit = self.add_weight(
                shape=shape, name="alpha_logit", initializer=initializer
            )
        else:
            self.alpha_weight = self.add_weight(
                shape=shape,
                name="alpha",
                initializer=initializer,
                trainable=False,
            )

    def get_alpha(self):
        """The current `alpha` of every unit, a tensor of shape `(units,)`."""
        if self.mode == "learned":
            return ops.sigmoid(self.alpha_logit)
        return self.alpha_weight

    def step(self, projected, states, training=False):
        """One step from the projected inputs `W_x x_t (+ b)`."""
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        a = projected + ops.matmul(
            self._dropped_state(h_tm1, training), self.recurrent_kernel
        )
        v_t = self.activate(a)
        h = v_t + self.get_alpha() * (h_tm1 - v_t)
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "alpha": self.alpha,
                "tau_min": self.tau_min,
                "tau_max": self.tau_max,
            }
        )
        return config
