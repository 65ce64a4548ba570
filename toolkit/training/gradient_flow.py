"""Seeing the gradient: how strongly the loss reaches back through time."""

import keras
import numpy as np
import pandas as pd
from keras import ops

from toolkit import validation as v

COLUMNS = ["model", "step", "distance", "grad_norm", "relative"]


def _recurrent_layer(model, layer):
    """The `keras.layers.RNN` to measure: given, named, or the first one."""
    if layer is None:
        for candidate in model.layers:
            if isinstance(candidate, keras.layers.RNN):
                return candidate
        raise ValueError(
            "Argument `layer` is None and the model has no top-level "
            "`keras.layers.RNN` layer (SimpleRNN, LSTM, GRU, "
            "toolkit.layers.LeakyRNN, ...) to measure. Pass `layer`. "
            f"Received: model with layers {[x.name for x in model.layers]}"
        )
    if isinstance(layer, str):
        try:
            layer = model.get_layer(layer)
        except ValueError as error:
            raise ValueError(
                f"Argument `layer` must name a layer of the model. "
                f"Received: layer={layer!r}"
            ) from error
    if not isinstance(layer, keras.layers.RNN):
        raise ValueError(
            "Argument `layer` must be a `keras.layers.RNN` (or a subclass) "
            f"of the model. Received: layer={layer.name!r} of type "
            f"{type(layer).__name__}"
        )
    return layer


def _loss_function(model, loss):
    if loss == "auto":
        loss = getattr(model, "loss", None)
        if loss is None:
            raise ValueError(
                "Argument `loss` is 'auto' but the model is not compiled "
                "with a loss; compile it or pass a Keras loss. "
                "Received: loss='auto'"
            )
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "Argument `loss` must be 'auto', a Keras loss, its name or a "
            f"callable. Received: loss={loss!r}"
        ) from error


def gradient_flow(model, x, y, layer=None, loss="auto", name=None):
    """Norm of the loss gradient with respect to the hidden state, per step.

    For the recurrent layer `layer` of `model`, with hidden states
    `s_0, ..., s_{T-1}`, this measures, for every step `t`,

    ```
    g_t = mean over examples of || dL / ds_t ||_2
    ```

    where `dL / ds_t` is the total derivative of the example's loss: through
    the rest of the sequence (the recurrence) and through the layers above.
    `s_t` is every state tensor the cell makes at step `t`: `h_t`, and for
    an LSTM also the memory `c_t` (which carries the LSTM's gradient; `h_t`
    alone would not show it). States only passed along, like a `SkipCell`'s
    history of earlier `h`, count at the step that made them.
    Plotted against the distance to the end of the sequence,
    `T - 1 - t`, it shows how far back the loss still reaches: a vanishing
    gradient is a line falling to zero (Deep Learning, section 10.7).

    The layer's cell is run step by step under a `tf.GradientTape`, from
    zero initial states, in inference mode (no dropout), on the layer's
    inputs as the model computes them; the layers after it run as in the
    model. Masks are not applied. TensorFlow backend only.

    Args:
        model: a built Functional or Sequential `keras.Model`.
        x: inputs of the model (a batch, e.g. 64 sequences).
        y: targets for `x`.
        layer: the `keras.layers.RNN` to measure (instance or name), or
            `None` for the first top-level one. Its output must feed the
            rest of the model alone. In a stack, measuring the lowest layer
            includes the paths through the layers above. Default: `None`.
        loss: `"auto"` (the model's compiled loss) or any Keras loss.
            Default: `"auto"`.
        name: the label of this model in the `"model"` column. Default:
            `model.name`.

    Returns:
        A `pandas.DataFrame` with one row per step and the columns `model`,
        `step` (t), `distance` (`T - 1 - t`), `grad_norm` (g_t) and
        `relative` (`g_t` divided by its value at distance 0).

    Example:

    ```python
    import pandas as pd
    from recipes import build_sequence_regressor
    from toolkit.data import adding_problem
    from toolkit.training import gradient_flow, plot_gradient_flow

    x, y = adding_problem(64, timesteps=100, seed=0)
    frames = [
        gradient_flow(build_sequence_regressor(100, 2, cell=c, units=32),
                      x, y, name=c)
        for c in ("simple_rnn", "leaky", "lstm")
    ]
    plot_gradient_flow(pd.concat(frames)).figure.savefig("flow.png")
    ```
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "`gradient_flow` needs the TensorFlow backend. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    import tensorflow as tf

    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(
            "Argument `model` must be a built `keras.Model`. "
            f"Received: model={model!r}"
        )
    rnn = _recurrent_layer(model, layer)
    loss_fn = _loss_function(model, loss)
    if isinstance(rnn.output, (list, tuple)):
        raise ValueError(
            "Argument `layer` must have a single output "
            f"(return_state=False). Received: layer={rnn.name!r}"
        )
    inputs, outputs = model.inputs, model.outputs
    before = keras.Model(inputs[0] if len(inputs) == 1 else inputs, rnn.input)
    after = keras.Model(
        rnn.output, outputs[0] if len(outputs) == 1 else outputs
    )
    sequences = ops.convert_to_tensor(before(x, training=False))
    batch, steps = sequences.shape[0], sequences.shape[1]
    order = range(steps - 1, -1, -1) if rnn.go_backwards else range(steps)
    with tf.GradientTape() as tape:
        states = rnn.get_initial_state(batch)
        seen = {id(state) for state in states}
        hidden, created = {}, {}
        for t in order:
            output, states = rnn.cell(
                sequences[:, t], list(states), training=False
            )
            if not isinstance(states, (list, tuple)):
                states = [states]
            hidden[t] = output
            # Each state counts at the step that made it (h_t, c_t, ...).
            created[t] = [s for s in states if id(s) not in seen]
            if all(s is not output for s in created[t]):
                created[t].append(output)
            seen.update(id(s) for s in states)
        if rnn.return_sequences:
            visited = [hidden[t] for t in order]
            outputs = ops.stack(visited, axis=1)
        else:
            outputs = hidden[order[-1]]
        prediction = after(outputs, training=False)
        value = ops.mean(loss_fn(ops.convert_to_tensor(y), prediction))
    steps_list = list(range(steps))
    flat = [s for t in steps_list for s in created[t]]
    grads = iter(tape.gradient(value, flat))
    norms = []
    for t in steps_list:
        squares = 0.0
        for _ in created[t]:
            g = next(grads)
            if g is not None:
                # The mean over the batch scales each example's gradient.
                squares = squares + np.sum(
                    (np.asarray(g, "float64") * batch) ** 2, axis=-1
                )
        norms.append(float(np.mean(np.sqrt(squares))))
    norms = np.array(norms)
    distance = np.array(
        [steps - 1 - t for t in steps_list]
        if not rnn.go_backwards
        else steps_list
    )
    last = norms[np.argmin(distance)]
    frame = pd.DataFrame(
        {
            "model": name or model.name,
            "step": steps_list,
            "distance": distance,
            "grad_norm": norms,
            "relative": norms / last if last > 0 else np.nan,
        },
        columns=COLUMNS,
    )
    return frame.sort_values("distance", ignore_index=True)


def plot_gradient_flow(frame, column="grad_norm", logy=True, ax=None):
    """Plot `gradient_flow` results: one line per model against the
    distance to the end of the sequence.

    Args:
        frame: a `pandas.DataFrame` from `gradient_flow`, or several
            concatenated (`pd.concat`).
        column: `"grad_norm"` or `"relative"`. Default: `"grad_norm"`.
        logy: bool, logarithmic y axis (vanishing gradients are straight
            lines). Default: `True`.
        ax: a matplotlib `Axes` to draw on, or `None` for a new figure.

    Returns:
        The matplotlib `Axes`.

    Example:

    ```python
    ax = plot_gradient_flow(frame)
    ax.figure.savefig("gradient_flow.png", dpi=120)
    ```
    """
    plt = v.require_pyplot()
    missing = [c for c in ("model", "distance", column) if c not in frame]
    if missing:
        raise ValueError(
            "Argument `frame` must be a DataFrame from `gradient_flow` with "
            f"columns 'model', 'distance' and {column!r}. Received: "
            f"columns {list(frame.columns)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for label, rows in frame.groupby("model", sort=False):
        rows = rows.sort_values("distance")
        ax.plot(rows["distance"], rows[column], label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("distance to the end of the sequence (steps)")
    ax.set_ylabel(
        "||dL/ds_t||" if column == "grad_norm" else "||dL/ds_t|| (relative)"
    )
    ax.set_title("Gradient flow through time")
    ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return ax
