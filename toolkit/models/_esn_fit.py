"""The ESN's closed-form fit options: noise during the teacher-forced run,
and the ridge chosen on validation data (NumPy side)."""

import numpy as np

from toolkit import validation as v
from toolkit.layers.reservoir.ridge import RidgeRegression, check_ridge
from toolkit.models import _esn_loops as loops
from toolkit.models._esn_scores import nrmse
from toolkit.models._esn_sequences import (
    as_sequences,
    check_pairs,
    check_washout,
    groups,
    padded,
    shift,
)


def check_ridges(ridge):
    """`(ridges, several)`: the penalties as a list of floats, and whether a
    list was given."""
    if isinstance(ridge, (list, tuple, np.ndarray)):
        values = [check_ridge(r) for r in np.ravel(ridge).tolist()]
        if not values:
            raise ValueError(
                "Argument `ridge` must be a number >= 0 or a non-empty list "
                f"of them. Received: ridge={ridge!r}"
            )
        return values, True
    return [check_ridge(ridge)], False


def check_options(method, ridge, noise, validation_data, validation_split,
                  kwargs):  # fmt: skip
    """`fit`'s options checked together: `(ridges, (state_noise,
    input_noise, noise_seed), validation)`. With `method="gradient"`, the
    validation options join the Keras arguments `kwargs`."""
    ridges, several = check_ridges(ridge)
    noise = check_noise(*noise)
    if method == "ridge" and kwargs:
        raise ValueError(
            "Keras `fit` arguments apply only to `method='gradient'`. "
            f"Received: method='ridge' with {sorted(kwargs)}"
        )
    if method == "ridge":
        validation = check_validation(
            validation_data, validation_split, several
        )
        return ridges, noise, validation
    if several or noise[0] or noise[1]:
        raise ValueError(
            "A list of `ridge` values, `state_noise` and `input_noise` "
            f"apply only to `method='ridge'`. Received: ridge={ridge!r}, "
            f"state_noise={noise[0]}, input_noise={noise[1]}"
        )
    for name, value in (
        ("validation_data", validation_data),
        ("validation_split", validation_split),
    ):
        if value is not None:
            kwargs[name] = value
    return ridges, noise, None


def check_noise(state_noise, input_noise, noise_seed):
    state_noise = v.check_non_negative("state_noise", state_noise)
    input_noise = v.check_non_negative("input_noise", input_noise)
    return state_noise, input_noise, v.check_seed(noise_seed, "noise_seed")


def check_validation(validation_data, validation_split, several):
    """The validation option, checked: None, `("data", x, y)` or
    `("split", fraction)`."""
    if validation_data is not None and validation_split is not None:
        raise ValueError(
            "Give `validation_data` or `validation_split`, not both. "
            f"Received: validation_split={validation_split!r} and "
            "validation_data"
        )
    if validation_split is not None:
        fraction = v.check_in_range(
            "validation_split", validation_split, 0.0, 1.0,
            low_closed=False, high_closed=False,
        )  # fmt: skip
        return ("split", fraction)
    if validation_data is not None:
        if (
            not isinstance(validation_data, (list, tuple))
            or len(validation_data) != 2
        ):
            raise ValueError(
                "Argument `validation_data` must be a pair `(x, y)`. "
                f"Received: {type(validation_data).__name__}"
            )
        return ("data",) + tuple(validation_data)
    if several:
        raise ValueError(
            "A list of `ridge` values needs `validation_data=(x, y)` or "
            "`validation_split=` to choose among them. Received: neither"
        )
    return None


def split_points(lengths, fraction, washout):
    """For each sequence length, the first step of its validation tail."""
    points = []
    for length in lengths:
        held = int(round(fraction * length))
        if held < 1 or length - held <= washout:
            raise ValueError(
                f"`validation_split={fraction}` must leave at least one "
                f"validation step and more than `washout`={washout} "
                f"training steps in every sequence. Received a sequence of "
                f"{length} steps ({held} held out)"
            )
        points.append(length - held)
    return points


class FitNoise:
    """The Gaussian noise of a teacher-forced fit, drawn on the host.

    Two generators from `np.random.SeedSequence(seed).spawn(2)`: the first
    draws the input noise, the second the state noise. For a batch of
    equal-length sequences, the noise of steps `start:stop` is
    `standard_normal((stop - start, batch, width))`, transposed to batch
    first and times the noise's std: so the noise of step `t` is row `t`
    of one `(timesteps, batch, width)` draw, whatever the chunking. Steps
    at or after `quiet_from` (the validation tail) get none.
    """

    def __init__(self, state_noise, input_noise, seed, features, units):
        input_seed, state_seed = np.random.SeedSequence(seed).spawn(2)
        self._input = (input_noise, np.random.default_rng(input_seed))
        self._state = (state_noise, np.random.default_rng(state_seed))
        self._widths = (features, units)

    def for_batch(self, batch, quiet_from):
        def draw(start, stop, length):
            pieces = []
            for (std, rng), width in zip(
                (self._input, self._state), self._widths
            ):
                if not std:
                    pieces.append(None)
                    continue
                noise = rng.standard_normal((stop - start, batch, width))
                noise = np.transpose(noise, (1, 0, 2)) * std
                noise[:, max(0, quiet_from - start) :] = 0.0
                pieces.append(padded(noise.astype("float32"), length))
            return tuple(pieces)

        return draw


def choose_ridge(solver, ridges, features, targets):
    """Solves the accumulated normal equations for every ridge, scores each
    on the validation `features` and `targets` (NRMSE) and returns the
    best `(ridge, scores)`; the first of equal scores wins."""
    scores = {}
    for ridge in ridges:
        kernel, bias = solver.solve(ridge)
        scores[ridge] = nrmse(targets, features @ kernel + bias)
    best = min(scores, key=lambda r: (not np.isfinite(scores[r]), scores[r]))
    return best, scores


def ridge_fit(model, xs, ys, washout, ridges, chunk_size, noise, ends, held):
    """The closed-form fit: runs the reservoirs over `xs` (teacher-forced,
    with `noise`), accumulates the normal equations of the steps from
    `washout` to `ends[length]`, scores every ridge on the held-out steps
    or `held` (`validation_data`'s sequences), assigns the best solution
    to the readout. Returns `(carry, ridge, scores)`."""
    solver = RidgeRegression(ridges[0])
    scored = ([], [])
    lengths = len(ends)  # groups(xs) yields one group per length
    with loops.HostWorker() as worker:
        for number, (indices, batch_x) in enumerate(groups(xs), 1):
            batch_y = np.stack([ys[i] for i in indices])
            teacher = shift(batch_y) if model.feedback else None
            end = ends[batch_x.shape[1]]
            draw = None
            if noise is not None:
                draw = noise.for_batch(len(indices), end)
            for start, stop, features, carry in loops.run_chunks(
                model, batch_x, chunk_size, teacher=teacher, noise=draw
            ):
                low, high = max(start, washout), min(stop, end)
                last = number == lengths and stop == batch_x.shape[1]
                if low < high:
                    worker.run(
                        solver.update,
                        features[:, low - start : high - start],
                        batch_y[:, low:high],
                        last=last,
                    )
                if stop > end:
                    first = max(start, end)
                    scored[0].append(features[:, first - start :])
                    scored[1].append(batch_y[:, first:stop])
    if held is not None:
        scored = validation_features(model, held, washout, chunk_size)
    ridge, scores = ridges[0], None
    if scored[0]:
        size = scored[0][0].shape[-1]
        features = np.concatenate(
            [f.reshape(-1, size) for f in scored[0]]
        ).astype("float64")
        targets = np.concatenate(
            [t.reshape(-1, model.output_dim) for t in scored[1]]
        )
        ridge, scores = choose_ridge(solver, ridges, features, targets)
    solver.assign(model.readout, ridge)
    return carry, ridge, scores


def validation_sequences(model, validation, xs, washout):
    """`validation_data`'s sequences, checked like `x` and `y`."""
    vxs, _ = as_sequences("validation_data", validation[1])
    vys, _ = as_sequences("validation_data", validation[2])
    check_pairs(vxs, vys, model.output_dim)
    if vxs[0].shape[-1] != xs[0].shape[-1]:
        raise ValueError(
            "The inputs of `validation_data` must have the features of "
            f"`x` ({xs[0].shape[-1]}). Received: {vxs[0].shape[-1]}"
        )
    check_washout(washout, min(len(s) for s in vxs))
    return vxs, vys


def validation_features(model, held, washout, chunk_size):
    """The readout's inputs and targets of `validation_data` after the
    washout: teacher-forced, noiseless, from the zero state."""
    vxs, vys = held
    features, targets = [], []
    for indices, batch_x in groups(vxs):
        batch_y = np.stack([vys[i] for i in indices])
        teacher = shift(batch_y) if model.feedback else None
        for start, stop, chunk, _ in loops.run_chunks(
            model, batch_x, chunk_size, teacher=teacher
        ):
            low = max(start, washout)
            if low < stop:
                features.append(chunk[:, low - start :])
                targets.append(batch_y[:, low:stop])
    return features, targets
