"""Seeded generators of the classic reservoir-computing benchmark series."""

import math

import numpy as np

from toolkit import validation as v


def mackey_glass(
    n,
    tau=17,
    a=0.2,
    b=0.1,
    power=10,
    x0=1.2,
    noise=0.1,
    dt=0.1,
    sampling=1.0,
    discard=0,
    seed=None,
):
    """The Mackey-Glass delay differential equation, sampled regularly.

    ```
    dx/dt = a * x(t - tau) / (1 + x(t - tau)^power) - b * x(t)
    ```

    The equation is integrated with the classical fourth-order Runge-Kutta
    scheme on a grid of step `dt`; the delayed value at the half step is the
    mean of its two grid neighbours. The history on `[-tau, 0]` is
    `x0 + U(-noise, noise)` drawn from NumPy's generator seeded with
    `seed`, so two seeds give two different trajectories of the same
    attractor. With
    `tau=17` the series is chaotic (the usual benchmark, "MG-17").

    Args:
        n: int, number of samples returned.
        tau: float > 0, the delay. Default: 17.
        a: finite float, the production rate. Default: 0.2.
        b: finite float, the decay rate. Default: 0.1.
        power: finite float, the exponent of the feedback. Default: 10.
        x0: finite float, the centre of the initial history. Default: 1.2.
        noise: float >= 0, the half-width of the history's random
            perturbation (0: constant history `x0`). Default: 0.1.
        dt: float > 0, the integration step; `tau` and `sampling` must be
            whole multiples of it. Default: 0.1.
        sampling: float > 0, time between two returned samples. Default: 1.
        discard: int >= 0, samples integrated and dropped before the first
            one returned (to leave the initial transient). Default: 0.
        seed: int or None, seed of the random history.

    Returns:
        float64 array `(n, 1)`.

    Example:

    ```python
    from toolkit.data import mackey_glass

    series = mackey_glass(3000, tau=17, seed=0)
    x, y = series[:-1], series[1:]  # one-step-ahead prediction
    ```

    Reference:
        Mackey & Glass, "Oscillation and chaos in physiological control
        systems", Science, 1977.
    """
    n = v.check_positive_int("n", n)
    discard = v.check_non_negative_int("discard", discard)
    noise = v.check_non_negative("noise", noise)
    for name, value in (("tau", tau), ("dt", dt), ("sampling", sampling)):
        v.check_positive(name, value)
    # Any finite number is a valid rate, exponent or centre.
    for name, value in (("a", a), ("b", b), ("power", power), ("x0", x0)):
        v.check_in_range(name, value, -math.inf, math.inf)
    seed = v.check_seed(seed)
    lag = _whole_multiple("tau", tau, dt)
    every = _whole_multiple("sampling", sampling, dt)
    rng = np.random.default_rng(seed)
    total = (n + discard) * every
    x = np.empty(lag + 1 + total)
    x[: lag + 1] = x0 + rng.uniform(-noise, noise, size=lag + 1)

    def rate(value, delayed):
        return a * delayed / (1.0 + delayed**power) - b * value

    half = 0.5 * dt
    for i in range(lag, lag + total):
        now, old, older = x[i], x[i - lag], x[i - lag + 1]
        mid = 0.5 * (old + older)
        k1 = rate(now, old)
        k2 = rate(now + half * k1, mid)
        k3 = rate(now + half * k2, mid)
        k4 = rate(now + dt * k3, older)
        x[i + 1] = now + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    samples = x[lag + every :: every][discard:]
    return samples[:n, None]


def narma(n, order=10, seed=None):
    """The NARMA task: a nonlinear autoregressive moving average system.

    The input `u_t` is drawn uniformly from `[0, 0.5]` and the output obeys

    ```
    y_{t+1} = 0.3 y_t + 0.05 y_t * sum_{i=0}^{order-1} y_{t-i}
              + 1.5 u_{t-order+1} u_t + 0.1
    ```

    with `y_t = 0` for the first `order` steps. A model sees `u` and must
    produce `y`: it needs a memory of `order` steps and products of inputs.

    Args:
        n: int, length of the series.
        order: int, the memory of the system (10 gives "NARMA-10").
            Default: 10.
        seed: int or None, seed of NumPy's generator for `u`.

    Returns:
        `(u, y)`, two float64 arrays `(n, 1)`.

    Example:

    ```python
    from toolkit.data import narma

    u, y = narma(2000, order=10, seed=0)
    ```

    Reference:
        Atiya & Parlos, "New results on recurrent network training",
        IEEE Trans. Neural Networks, 2000; Jaeger, "Adaptive nonlinear
        system identification with echo state networks", NIPS 2002.
    """
    n = v.check_positive_int("n", n)
    order = v.check_positive_int("order", order)
    seed = v.check_seed(seed)
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 0.5, size=n)
    y = np.zeros(n)
    for t in range(order - 1, n - 1):
        window = y[t - order + 1 : t + 1]
        y[t + 1] = (
            0.3 * y[t]
            + 0.05 * y[t] * window.sum()
            + 1.5 * u[t - order + 1] * u[t]
            + 0.1
        )
    return u[:, None], y[:, None]


def _whole_multiple(name, value, dt):
    ratio = value / dt
    steps = int(round(ratio))
    if steps < 1 or abs(ratio - steps) > 1e-9 * max(1.0, ratio):
        raise ValueError(
            f"Argument `{name}` must be a whole multiple of `dt`={dt!r}. "
            f"Received: {name}={value!r}"
        )
    return steps
