"""The ESN's `predict` and `generate` (a mixin of `toolkit.models.ESN`,
kept apart to keep each module short)."""

import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.models import _esn_loops as loops
from toolkit.models._esn_sequences import (
    as_sequences,
    check_array_layout,
    groups,
    initial_states,
    restore_layout,
    states_out,
)


class ESNInference:
    """`predict` and `generate` of a fitted `ESN`."""

    def predict(
        self,
        x,
        warmup=None,
        initial_state=None,
        return_state=False,
        chunk_size=4096,
        verbose=None,
        batch_size=None,
    ):
        """The outputs for `x` (same layouts as `fit`).

        Args:
            x: the input series, laid out as in `fit`.
            warmup: optional series read just before `x` (same layout and
                batch as `x`) whose outputs are dropped: the states then
                start from the end of `warmup` instead of zero, as when the
                test series continues the training series. Default: `None`.
            initial_state: optional states to start from, as returned by
                `fit` or `predict` with `return_state=True` (array inputs
                only). For a feedback model the first output fed back is
                still zero. Default: `None` (zero states).
            return_state: bool, also return the final states.
                Default: `False`.
            chunk_size: int, as in `fit`. Default: 4096.
            verbose: accepted for compatibility with `keras.Model.predict`
                and ignored. Default: `None`.
            batch_size: accepted for compatibility with
                `keras.Model.predict` and ignored (the whole batch runs at
                once). Default: `None`.

        Returns:
            NumPy array(s) with the layout of `x` and `output_dim` features;
            with `return_state`, `(outputs, states)`.
        """
        chunk_size = v.check_positive_int("chunk_size", chunk_size)
        xs, single = as_sequences("x", x)
        self._ensure_built(xs[0].shape[-1])
        self._check_fitted("predict")
        if initial_state is not None or return_state:
            check_array_layout("initial_state` and `return_state", x, xs)
        states = initial_states(initial_state, len(xs), self.reservoirs)
        if warmup is not None:
            ws, _ = as_sequences("warmup", warmup)
            if len(ws) != len(xs):
                raise ValueError(
                    "Argument `warmup` must hold one sequence per sequence "
                    f"of `x`. Received: {len(ws)} and {len(xs)}"
                )
            xs = [np.concatenate([w, s]) for w, s in zip(ws, xs)]
        outputs = [None] * len(xs)
        for indices, batch_x in groups(xs):
            pieces = []
            for carry, values in loops.run_chunks(
                self, batch_x, chunk_size, True, initial_state=states
            ):
                pieces.append(values)
            result = np.concatenate(pieces, axis=1)
            for row, index in enumerate(indices):
                skip = 0 if warmup is None else len(ws[index])
                outputs[index] = result[row, skip:]
        outputs = restore_layout(outputs, single, x)
        if return_state:
            return outputs, states_out(carry[0], single)
        return outputs

    def generate(self, steps, warmup, initial_state=None, chunk_size=4096):
        """Run in closed loop: each prediction becomes the next input.

        The network first reads `warmup` (open loop: inputs are the given
        values), then generates `steps` values, feeding each output back as
        the next input; so `output_dim` must equal the number of input
        features (one-step-ahead prediction of the series itself).

        Args:
            steps: int, the number of values to generate.
            warmup: `(timesteps, features)` or `(batch, timesteps,
                features)`, the true series leading up to the generation.
                Its last value is the input of the first generated step,
                whose output is the first value returned.
            initial_state: optional states before `warmup`, as in
                `predict`. Default: `None` (zero states).
            chunk_size: int, as in `fit`. Default: 4096.

        Returns:
            `(steps, output_dim)` or `(batch, steps, output_dim)`.
        """
        steps = v.check_positive_int("steps", steps)
        xs, single = as_sequences("warmup", warmup)
        if len({len(s) for s in xs}) != 1:
            raise ValueError(
                "Argument `warmup` must hold sequences of equal length. "
                f"Received lengths {sorted({len(s) for s in xs})}"
            )
        if xs[0].shape[-1] != self.output_dim:
            raise ValueError(
                "`generate` feeds outputs back as inputs, so `warmup` must "
                f"have `output_dim`={self.output_dim} features. "
                f"Received: {xs[0].shape[-1]}"
            )
        self._ensure_built(self.output_dim)
        self._check_fitted("generate")
        batch = np.stack(xs)
        states = initial_states(initial_state, len(xs), self.reservoirs)
        for carry, values in loops.run_chunks(
            self, batch, chunk_size, True, initial_state=states
        ):
            first = values[:, -1:]
        states, y_last = carry
        if steps == 1:
            result = first
        else:
            loop = loops.compiled(self, "generate", len(xs))
            rest = ops.convert_to_numpy(loop(states, y_last, steps - 1))
            result = np.concatenate([first, rest], axis=1)
        return result[0] if single else result

    def _check_fitted(self, what):
        if not self._fitted:
            raise ValueError(
                f"`{what}` needs a fitted readout: call `fit` first (the "
                "model is new, or `redraw` reset its readout)."
            )
