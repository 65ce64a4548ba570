"""The gradient-flow regularizer of Pascanu, Mikolov & Bengio (2013).

Gradient clipping (Keras's `clipnorm`, `clipvalue`, `global_clipnorm`)
stops gradients from exploding; it does nothing when they vanish. Pascanu
et al. add a penalty that asks the back-propagated gradient to keep its
norm from one time step to the one before, so that error signals reach
early steps.
"""

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register


@register
class FlowRegularizedRNN(keras.Model):
    """A recurrent model whose `fit` adds the gradient-flow penalty.

    With `x_k` the recurrent state after step `k` (all of a cell's state
    tensors, concatenated), `E` the loss and `g_k = dE/dx_k` (the gradient
    arriving at step `k` from every later step), the penalty of Pascanu et
    al. (2013, eq. 10; Goodfellow et al. 2016, eq. 10.50) is

    ```
    Omega = sum_{k=0}^{T-1} ( ||g_{k+1} dx_{k+1}/dx_k|| / ||g_{k+1}|| - 1 )^2
    ```

    where `g_{k+1}` is held constant when `Omega` is differentiated, so the
    penalty moves the weights only through the one-step Jacobians
    `dx_{k+1}/dx_k`. The norms are taken per sequence and `Omega` is
    averaged over the batch. Training minimises `E + strength * Omega`;
    `Omega` is reported as the metric `flow_penalty`. Pascanu et al.
    combine it with gradient clipping: pass `clipnorm` to the optimizer.

    The model is `keras.layers.RNN(cell)` followed by `head` (applied to
    the last output, or to every step with `return_sequences=True`);
    prediction and evaluation run the ordinary `RNN` layer. Training
    unrolls the cell step by step in Python (the sequence length must be
    fixed) and computes `T` vector-Jacobian products inside a second
    gradient tape, so one step costs roughly three times an unregularized
    one. The training step needs TensorFlow's nested gradient tapes: on
    another backend the constructor raises a `ValueError` naming it. Under
    mixed precision the penalty's norms are computed in float32.

    Args:
        cell: a Keras RNN cell (e.g. `keras.layers.SimpleRNNCell(32)`, or a
            `toolkit.layers` cell), or its config.
        head: a Keras layer applied to the RNN's output (e.g.
            `keras.layers.Dense(1)`), its config, or None.
        strength: float >= 0, the weight of `Omega`. Default: 1.0.
        return_sequences: bool, give `head` every step's output.
            Default: False.
        epsilon: float > 0, added to `||g_{k+1}||`. Default: 1e-12.
        **kwargs: `keras.Model` arguments (e.g. `name`).

    Call arguments:
        inputs: `(batch, timesteps, features)`.
        training: bool.

    Example:

    ```python
    model = FlowRegularizedRNN(keras.layers.SimpleRNNCell(32),
                               head=keras.layers.Dense(1), strength=2.0)
    model.compile(keras.optimizers.SGD(0.01, clipnorm=1.0), loss="mse")
    model.fit(x, y, epochs=5)   # logs loss and flow_penalty
    ```

    Reference:
        R. Pascanu, T. Mikolov and Y. Bengio, "On the difficulty of
        training recurrent neural networks", ICML 2013, section 3.3.
    """

    def __init__(
        self,
        cell,
        head=None,
        strength=1.0,
        return_sequences=False,
        epsilon=1e-12,
        **kwargs,
    ):
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "`FlowRegularizedRNN` trains with TensorFlow's nested "
                "gradient tapes (one vector-Jacobian product per step), so "
                "it needs the TensorFlow backend. Received: "
                f"backend={keras.backend.backend()!r} (set "
                "KERAS_BACKEND=tensorflow)"
            )
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.layers.deserialize(cell)
        if isinstance(head, dict):
            head = keras.layers.deserialize(head)
        if not hasattr(cell, "state_size"):
            raise ValueError(
                "Argument `cell` must be a Keras RNN cell (a layer with "
                f"`state_size`). Received: cell={cell!r}"
            )
        if head is not None and not isinstance(head, keras.layers.Layer):
            raise ValueError(
                "Argument `head` must be a Keras layer or None. "
                f"Received: head={head!r}"
            )
        self.strength = v.check_in_range(
            "strength", strength, 0.0, float("inf"), high_closed=False
        )
        self.epsilon = v.check_in_range(
            "epsilon", epsilon, 0.0, 1.0, low_closed=False
        )
        self.return_sequences = bool(return_sequences)
        self.cell = cell
        self.head = head
        self.rnn = keras.layers.RNN(
            cell, return_sequences=return_sequences, name="rnn"
        )
        self.penalty_tracker = keras.metrics.Mean(name="flow_penalty")

    def call(self, inputs, training=False):
        outputs = self.rnn(inputs, training=training)
        if self.head is not None:
            outputs = self.head(outputs, training=training)
        return outputs

    def loss_and_penalty(self, x, y, sample_weight=None, training=True):
        """The loss `E`, the penalty `Omega` and the prediction for a batch.

        Args:
            x: `(batch, timesteps, features)`, `timesteps` fixed.
            y: the targets.
            sample_weight: optional sample weights.
            training: bool, passed to the cell and the head.

        Returns:
            `(loss, penalty, y_pred)`, scalars and the prediction.
        """
        import tensorflow as tf

        inputs = ops.convert_to_tensor(x)
        steps = inputs.shape[1]
        if steps is None:
            raise ValueError(
                "`FlowRegularizedRNN` unrolls the sequence for its penalty, "
                "so the number of time steps must be known. Received: "
                f"inputs of shape {tuple(inputs.shape)}"
            )
        batch = ops.shape(inputs)[0]
        states = keras.tree.flatten(
            self.cell.get_initial_state(batch_size=batch)
        )
        history, step_tapes, outputs = [states], [], []
        with tf.GradientTape() as tape:
            for state in states:
                tape.watch(state)
            for step in range(steps):
                # A tape per step: the one-step Jacobian-vector product.
                with tf.GradientTape() as step_tape:
                    step_tape.watch(states)
                    output, new_states = self.cell(
                        inputs[:, step], states, training=training
                    )
                    new_states = keras.tree.flatten(new_states)
                step_tapes.append(step_tape)
                history.append(new_states)
                outputs.append(output)
                states = new_states
            sequence = (
                ops.stack(outputs, axis=1)
                if self.return_sequences
                else outputs[-1]
            )
            y_pred = sequence
            if self.head is not None:
                y_pred = self.head(sequence, training=training)
            loss = self.compute_loss(
                x=x,
                y=y,
                y_pred=y_pred,
                sample_weight=sample_weight,
                training=training,
            )
        arriving = tape.gradient(
            loss,
            history[1:],
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        penalty = 0.0
        for step in range(steps):
            incoming = [ops.stop_gradient(g) for g in arriving[step]]
            passed = step_tapes[step].gradient(
                history[step + 1],
                history[step],
                output_gradients=incoming,
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            ratio = _norm(passed) / (_norm(incoming) + self.epsilon)
            penalty = penalty + ops.mean(ops.square(ratio - 1.0))
        return loss, penalty, y_pred

    def train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            loss, penalty, y_pred = self.loss_and_penalty(
                x, y, sample_weight, training=True
            )
            total = loss + self.strength * penalty
        variables = self.trainable_variables
        gradients = tape.gradient(total, variables)
        self.optimizer.apply(gradients, variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            elif metric is self.penalty_tracker:
                metric.update_state(penalty)
            else:
                metric.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": keras.layers.serialize(self.cell),
                "head": (
                    None
                    if self.head is None
                    else keras.layers.serialize(self.head)
                ),
                "strength": self.strength,
                "return_sequences": self.return_sequences,
                "epsilon": self.epsilon,
            }
        )
        return config


def _norm(parts):
    """Per-sample Euclidean norm over a list of `(batch, n_i)` tensors."""
    total = 0.0
    for part in parts:
        # float32 even under mixed precision: the loss it joins is float32
        part = ops.cast(part, "float32")
        total = total + ops.sum(ops.square(part), axis=-1)
    return ops.sqrt(total)
