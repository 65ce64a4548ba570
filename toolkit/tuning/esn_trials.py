"""Sweep trials of an echo state network: closed-form fits, several
reservoir draws per trial.

keras-tuner's way for a training loop of one's own is a `Tuner` whose
`run_trial` returns the metrics. `ESNTuner` is that: each trial builds an
`ESN` from the trial's hyperparameters for each of `draws` reservoir
draws, fits its readout in closed form on the training part and scores
it on the validation part; `run_trial` returns one dict of metrics per
draw, which keras-tuner averages for its oracle (the objective is the
mean over draws), and `SweepTuner` keeps them all in the trial's record
(the DataFrame gets the mean, the std and every draw). `sweep(ESN, ...)`
uses it mixed with `SweepTuner` and keras-tuner's random or Bayesian
tuner (`ESN_TUNERS`).
"""

import inspect
import random

import keras_tuner
import numpy as np

from toolkit import validation as v
from toolkit.layers.reservoir.reservoir import REDRAWABLE
from toolkit.models import ESN, generation_nrmse, nrmse
from toolkit.tuning.hypermodel import RecipeHyperModel

#: Validation metrics an ESN trial computes by name, `f(y_true, y_pred)`
#: on `(n, outputs)` arrays.
METRICS = {
    "nrmse": nrmse,
    "rmse": lambda t, p: float(np.sqrt(np.mean((t - p) ** 2))),
    "mse": lambda t, p: float(np.mean((t - p) ** 2)),
    "mae": lambda t, p: float(np.mean(np.abs(t - p))),
}

#: Arguments of `ESN.fit` a search space or `fixed` may set; every other
#: key goes to the `ESN` constructor.
FIT_ARGUMENTS = tuple(
    name
    for name in inspect.signature(ESN.fit).parameters
    if name not in ("self", "x", "y", "method", "return_state", "kwargs")
)


class ESNHyperModel(RecipeHyperModel):
    """A `RecipeHyperModel` of `toolkit.models.ESN`: its search spaces and
    `fixed` may hold `ESN` arguments and `ESN.fit` arguments (`ridge`,
    `washout`, `chunk_size`, ...); `split` tells them apart and `build`
    returns the unfitted `ESN`.

    Args:
        spaces: a function `hp -> dict` or a list of them, e.g.
            `toolkit.tuning.reservoir_space`. Default: none.
        fixed: dict of arguments that are not tuned, e.g.
            `{"units": 200, "washout": 100}`.
        builder: the `ESN` class or a subclass. Default: `ESN`.
        name: str. Default: the builder's name.

    Example:

    ```python
    from toolkit.tuning import ESNHyperModel, reservoir_space

    hypermodel = ESNHyperModel(reservoir_space, fixed={"units": 50})
    hp = keras_tuner.HyperParameters()
    hypermodel.split(hypermodel.arguments(hp))
    # ({"spectral_radius": 0.9, ..., "units": 50}, {"ridge": 1e-06})
    ```
    """

    def __init__(self, spaces=(), fixed=None, builder=ESN, name=None):
        if not is_esn(builder):
            raise TypeError(
                "Argument `builder` must be `toolkit.models.ESN` or a "
                f"subclass. Received: builder={builder!r}"
            )
        super().__init__(builder, spaces, fixed=fixed, name=name)

    def split(self, arguments):
        """`(model_arguments, fit_arguments)` of a dict of arguments."""
        model = {k: x for k, x in arguments.items() if k not in FIT_ARGUMENTS}
        fit = {k: x for k, x in arguments.items() if k in FIT_ARGUMENTS}
        return model, fit

    def build(self, hp):
        model, _ = self.split(self.arguments(hp))
        return self.builder(**model)


class ESNTuner(keras_tuner.Tuner):
    """A keras-tuner `Tuner` whose trials fit an `ESN` in closed form.

    `run_trial(trial, x, y, validation_data=None, validation_split=None)`:
    for each draw `d = 0, ..., draws - 1` it builds the trial's ESN with
    seed `draw_seed + d * L` (`L` reservoirs: no two draws share a
    reservoir's weights; the same seeds in every trial, so trials differ
    by their hyperparameters, not by their luck), fits it on `(x, y)` and
    scores it on the validation part. It returns one dict per draw,
    `{"val_nrmse": ..., "val_<metric>": ..., "val_generation_nrmse":
    ...}`: keras-tuner's oracle sees their mean.

    Under Hyperband (`ESNHyperbandSweep`), a trial's budget is its share
    of the training series, not epochs: a trial given `e` of `max_epochs`
    fits on the last `ceil(e / max_epochs * T)` of the `T` training steps
    of each sequence (washout included), and the trials Hyperband
    promotes refit on more. Subsampled training data is one of the
    resources Li et al. (2018) name for Hyperband; a closed-form fit
    cannot be resumed, so each round refits from the start.

    The validation series is read on from the states the training series
    ended in when both are arrays with the same batch (a chronological
    split: the validation part continues the training part); otherwise
    from zero states, with the first `washout` steps left out of the
    scores. With `generation={"steps": N, "warmup": W}`, each draw also
    reads the first `W` validation inputs (from zero states) and then
    runs `N` steps in closed loop: `val_generation_nrmse` is the NRMSE of
    those `N` steps against the validation targets (normalised by their
    std).

    Args:
        hypermodel: an `ESNHyperModel`.
        draws: int, reservoir draws per trial. Default: 3.
        metrics: None, a list of names of `METRICS` (`"nrmse"`, `"rmse"`,
            `"mse"`, `"mae"`), or a dict `{name: f(y_true, y_pred) ->
            float}`; each is reported as `val_<name>`, besides
            `val_nrmse`. Default: None.
        generation: None or `{"steps": N, "warmup": W}` (`W` defaults to
            100). Default: None.
        draw_seed: int or None, the first draw's seed; None draws one at
            random per trial. `on_draws_chosen(trial, seeds)` is called
            with the seeds (the sweep writes them to the trial's record).
            Default: None.
        **kwargs: the keras-tuner tuner's arguments (`oracle`,
            `directory`, `project_name`, ...).

    Example:

    ```python
    tuner = ESNTuner(ESNHyperModel(reservoir_space, fixed={"units": 50}),
                     oracle=keras_tuner.oracles.RandomSearchOracle(
                         keras_tuner.Objective("val_nrmse", "min"),
                         max_trials=3))
    tuner.search(x, y, validation_data=(x_val, y_val))
    ```
    """

    def __init__(
        self,
        hypermodel=None,
        draws=3,
        metrics=None,
        generation=None,
        draw_seed=None,
        **kwargs,
    ):
        if hypermodel is not None and not isinstance(hypermodel, ESNHyperModel):
            raise TypeError(
                "Argument `hypermodel` of an ESN tuner must be an "
                f"`ESNHyperModel`. Received: hypermodel={hypermodel!r}"
            )
        self.draws = v.check_positive_int("draws", draws)
        # Not `self.metrics`: keras-tuner's `Tuner` keeps its own there.
        self.validation_metrics = check_metrics(metrics)
        self.generation = check_generation(generation)
        self.draw_seed = v.check_seed(draw_seed, "draw_seed")
        self._esn = None  # the last draw's ESN, which `_draw` may reuse
        super().__init__(hypermodel=hypermodel, **kwargs)

    def run_trial(
        self,
        trial,
        x,
        y,
        validation_data=None,
        validation_split=None,
        callbacks=None,
        **unused,
    ):
        if callbacks:
            raise ValueError(
                "ESN trials fit in closed form, with no epochs for Keras "
                f"callbacks to watch. Received: callbacks={callbacks!r}"
            )
        (x, y), (x_val, y_val) = split_validation(
            x, y, validation_data, validation_split
        )
        budget = trial.hyperparameters.values.get("tuner/epochs")
        if budget is not None:
            share = budget / self.oracle.max_epochs
            x, y = last_steps(x, share), last_steps(y, share)
        model_args, fit_args = self.hypermodel.split(
            self.hypermodel.arguments(trial.hyperparameters)
        )
        units = model_args.get("units", 0)
        depth = len(units) if isinstance(units, (list, tuple)) else 1
        base = self.draw_seed
        if base is None:
            base = random.SystemRandom().randrange(2**31)
        seeds = [base + d * depth for d in range(self.draws)]
        self.on_draws_chosen(trial, seeds)
        results = []
        for seed in seeds:
            self._esn = _draw(
                self._esn, seed, model_args, self.hypermodel.builder
            )
            results.append(
                score_draw(
                    self._esn,
                    (x, y),
                    (x_val, y_val),
                    fit_args,
                    self.validation_metrics,
                    self.generation,
                )
            )
        return results

    def on_draws_chosen(self, trial, seeds):
        """Called before the draws of `trial` with their ESN seeds."""


def _draw(esn, seed, hyperparameters, builder=ESN):
    """The trial's ESN for one reservoir draw: `hyperparameters` (the ESN
    constructor's arguments) with reservoir weights drawn from `seed`.

    `esn` is the ESN of the previous draw (of this trial or the last one),
    or None. When the structure (units, connectivity, ...) is the same,
    `esn` is redrawn in place (`ESN.redraw`: the same variables and
    compiled loop, the same weights as `ESN(..., seed=seed)`), so a draw
    costs the weights' draw and the fit; otherwise a new `ESN` is built.
    """
    return _redraw(esn, seed, hyperparameters) or builder(
        seed=seed, **hyperparameters
    )


def _redraw(esn, seed, hyperparameters):
    """`esn` redrawn in place with `seed` and `hyperparameters` if it has
    the same structure (every constructor argument outside `REDRAWABLE`,
    given or defaulted, equal), else None. An argument a trial leaves out
    takes the constructor's default, as a new ESN would. Needs
    `ESN.redraw`; see `_draw`."""
    if esn is None:
        return None
    parameters = inspect.signature(type(esn).__init__).parameters
    wanted = {
        name: hyperparameters.get(name, parameter.default)
        for name, parameter in parameters.items()
        if name not in ("self", "seed", "kwargs")
    }
    config = esn.get_config()
    for name, value in wanted.items():
        if name not in REDRAWABLE and _plain(config.get(name)) != _plain(value):
            return None
    scales = {k: x for k, x in wanted.items() if k in REDRAWABLE}
    return esn.redraw(seed=seed, **scales)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def score_draw(esn, train, validation, fit_args, metrics, generation):
    """Fit `esn` on `train` and return its validation metrics (a dict of
    floats); raise `keras_tuner.errors.FailedTrialError` if one is not
    finite."""
    (x, y), (x_val, y_val) = train, validation
    washout = fit_args.get("washout", 0)
    if continues(x, x_val):
        states = esn.fit(x, y, return_state=True, **fit_args)
        predicted = esn.predict(x_val, initial_state=states)
        truth = y_val
    else:
        esn.fit(x, y, **fit_args)
        predicted = esn.predict(x_val)
        truth = y_val
        if washout:
            truth = [s[washout:] for s in _sequences(y_val)]
            predicted = [s[washout:] for s in _sequences(predicted)]
    truth, predicted = _flat(truth), _flat(predicted)
    scores = {"val_nrmse": METRICS["nrmse"](truth, predicted)}
    for name, function in metrics.items():
        scores[f"val_{name}"] = float(function(truth, predicted))
    if generation is not None:
        scores["val_generation_nrmse"] = _generation_score(
            esn, x_val, y_val, generation
        )
    for name, value in scores.items():
        if not np.isfinite(value):
            raise keras_tuner.errors.FailedTrialError(
                f"The ESN's {name} is not finite ({value}); the trial "
                "fails and the sweep goes on."
            )
    return scores


def _generation_score(esn, x_val, y_val, generation):
    """The NRMSE of `steps` free-run steps after `warmup` validation
    inputs, against the validation targets."""
    steps, warmup = generation["steps"], generation["warmup"]
    if not isinstance(x_val, np.ndarray) or x_val.ndim not in (2, 3):
        raise ValueError(
            "A generation score needs the validation input as one array "
            "`(timesteps, features)` or `(batch, timesteps, features)`. "
            f"Received: {type(x_val).__name__}"
        )
    length = x_val.shape[-2]
    if warmup + steps - 1 > length:
        raise ValueError(
            "Argument `generation` needs `warmup + steps - 1` <= the "
            f"validation length {length}. Received: warmup={warmup}, "
            f"steps={steps}"
        )
    truth = y_val[..., warmup - 1 : warmup - 1 + steps, :]
    return generation_nrmse(esn, x_val[..., :warmup, :], truth, steps)


def last_steps(values, share):
    """The last `ceil(share * T)` time steps of each training sequence
    (`T` its length): Hyperband's budget for a closed-form fit. The last
    steps, so that the validation part still continues the training part
    it is read on from."""
    if isinstance(values, np.ndarray) and values.ndim in (2, 3):
        length = values.shape[-2]
        return values[..., length - _steps(length, share) :, :]
    return [s[len(s) - _steps(len(s), share) :] for s in values]


def _steps(length, share):
    return min(length, max(1, int(np.ceil(share * length - 1e-9))))


def continues(x, x_val):
    """Whether the validation input continues the training input: both
    arrays `(timesteps, features)`, or `(batch, timesteps, features)` of
    the same batch."""
    if not (isinstance(x, np.ndarray) and isinstance(x_val, np.ndarray)):
        return False
    if x.ndim != x_val.ndim or x.ndim not in (2, 3):
        return False
    return x.ndim == 2 or x.shape[0] == x_val.shape[0]


def split_validation(x, y, validation_data, validation_split):
    """`((x, y), (x_val, y_val))`: `validation_data`, or the last
    `validation_split` of the time steps (of a `(timesteps, features)`
    series) or of the sequences (of a batch)."""
    if validation_data is not None:
        x_val, y_val = validation_data
        return (x, y), (x_val, y_val)
    if validation_split is None:
        raise ValueError(
            "ESN trials score on a validation part: pass "
            "`validation_data=(x_val, y_val)` or `validation_split`. "
            "Received neither."
        )
    x, y = np.asarray(x), np.asarray(y)
    axis = 0
    cut = int(round(x.shape[axis] * (1.0 - validation_split)))
    if not 0 < cut < x.shape[axis]:
        raise ValueError(
            "Argument `validation_split` leaves no training or no "
            f"validation data out of {x.shape[axis]}. Received: "
            f"validation_split={validation_split!r}"
        )
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def check_metrics(metrics):
    """A dict `{name: function}` from `metrics` (see `ESNTuner`)."""
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(metrics, dict):
        for name, function in metrics.items():
            if not isinstance(name, str) or not callable(function):
                raise ValueError(
                    "Argument `metrics` as a dict must map names to "
                    "functions `f(y_true, y_pred) -> float`. Received: "
                    f"{name!r}: {function!r}"
                )
        return dict(metrics)
    if not isinstance(metrics, (list, tuple)):
        raise ValueError(
            f"Argument `metrics` must be None, a list of names of "
            f"{sorted(METRICS)} or a dict of functions. Received: "
            f"metrics={metrics!r}"
        )
    return {
        name: METRICS[v.check_choice("metrics", name, set(METRICS))]
        for name in metrics
    }


def check_generation(generation):
    """`{"steps": int, "warmup": int}` from `generation`, or None."""
    if generation is None:
        return None
    if not isinstance(generation, dict) or "steps" not in generation:
        raise ValueError(
            "Argument `generation` must be None or a dict with `steps` "
            "(and optionally `warmup`). Received: "
            f"generation={generation!r}"
        )
    unknown = sorted(set(generation) - {"steps", "warmup"})
    if unknown:
        raise ValueError(
            "Argument `generation` takes only `steps` and `warmup`. "
            f"Received: unknown keys {unknown}"
        )
    return {
        "steps": v.check_positive_int("steps", generation["steps"]),
        "warmup": v.check_positive_int("warmup", generation.get("warmup", 100)),
    }


def is_esn(builder):
    """Whether a sweep's `builder` means ESN trials: the `ESN` class (or a
    subclass) or an `ESNHyperModel`."""
    if isinstance(builder, ESNHyperModel):
        return True
    return isinstance(builder, type) and issubclass(builder, ESN)


def _sequences(values):
    if isinstance(values, np.ndarray) and values.ndim == 2:
        return [values]
    return list(values)


def _flat(values):
    """Every element of an array or a list of arrays, as one float64
    vector per output: `(n, outputs)`."""
    if isinstance(values, np.ndarray):
        return values.reshape(-1, values.shape[-1]).astype("float64")
    return np.concatenate(
        [np.asarray(s).reshape(-1, np.shape(s)[-1]) for s in values]
    ).astype("float64")
