"""The layers' reference checks, run on the backend of the environment.

`tests/test_backends.py` runs this script in a subprocess with
`KERAS_BACKEND=jax` (the backend is fixed when Keras is imported, so it
cannot change inside the pytest process). Each check is a test function
of the suite, called directly: the NumPy references stay in one place.
Run it by hand with

    KERAS_BACKEND=jax python tests/backend_checks.py

It prints one line per check and exits 1 if any failed.
"""

import pathlib
import sys
import traceback

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import pytest  # noqa: E402

from tests import (  # noqa: E402
    test_composers,
    test_gradient_regularizer,
    test_gru_cell,
    test_lstm_cell,
    test_reservoir,
)


def _flow_regularized_rnn_is_refused():
    with pytest.raises(ValueError, match="needs the TensorFlow backend"):
        test_gradient_regularizer.FlowRegularizedRNN(
            keras.layers.SimpleRNNCell(2)
        )


CHECKS = {
    "lstm_cell": lambda: (
        test_lstm_cell.test_matches_numpy_loop_of_the_equations(
            {"peephole": True, "layer_norm": True}, "cell_in_rnn"
        )
    ),
    "gru_cell": lambda: test_gru_cell.test_matches_numpy_loop_of_the_equations(
        True, True, "cell_in_rnn"
    ),
    "reservoir": (
        test_reservoir.test_states_match_numpy_loop_with_feedback_bias_and_initial_state
    ),
    "flow_regularized_rnn": _flow_regularized_rnn_is_refused,
}
for _name in ("rnn", "rntn", "tree_lstm_nary3", "child_sum"):
    CHECKS[f"composer_{_name}"] = lambda n=_name: (
        test_composers.test_matches_numpy_recursion(n)
    )
CHECKS["composer_per_node"] = lambda: (
    test_composers.test_dynamic_batching_equals_per_node_recursion("rnn")
)
# Training: the gradient through the composer's loop.
CHECKS["composer_fit"] = test_composers.test_node_level_head_fits


def main():
    print(f"backend: {keras.backend.backend()}")
    failed = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # report every check, not only the first
            failed.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}")
        else:
            print(f"ok   {name}")
    print(f"{len(CHECKS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
