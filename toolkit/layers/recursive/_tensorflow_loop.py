"""The TensorFlow loop of dynamic batching (see `TreeComposer`).

Keras offers no loop whose carried tensors change shape, nor a list of
tensors written from inside a loop; TensorFlow does (`shape_invariants`,
`tf.TensorArray`). With them the composer carries only the child slots
still waiting for their parents, a buffer that shrinks level by level,
instead of rewriting a buffer of every node at every level. This module is
the only TensorFlow-specific code of the composers; every other backend
runs `TreeComposer`'s portable loop.
"""

import tensorflow as tf


def push_loop(compose, pending, destinations, present, starts, sizes, arity):
    """Compose level by level, pushing each level's states to its parents.

    Args:
        compose: `compose(child_states, child_mask)` of the composer.
        pending: `(internal * arity + arity, width)` child slots of the
            internal nodes in height order (leaves' states already in
            place, zeros for missing children), then one spare slot group
            that collects the roots' states.
        destinations: int `(internal,)`, slot of each internal node's state
            in `pending` (its parent's row times `arity` plus the child's
            position), the spare group for a root.
        present: bool `(internal, arity)`, present children.
        starts: int `(steps,)`, first internal node (in height order)
            composed at each step.
        sizes: int `(steps,)`, number of nodes composed at each step.
        arity: int, child slots per node.

    Returns:
        `(internal, width)` states of the internal nodes, in height order.
    """
    width = pending.shape[-1]
    steps = tf.shape(sizes)[0]
    states = tf.TensorArray(
        pending.dtype,
        size=steps,
        infer_shape=False,
        element_shape=tf.TensorShape([None, width]),
    )

    def body(step, pending, states):
        start, size = starts[step], sizes[step]
        # Children at the front, by `split`: a slice's gradient costs more.
        block, pending = tf.split(pending, [size * arity, -1])
        block = tf.reshape(block, (size, arity, width))
        mask = tf.cast(present[start : start + size], pending.dtype)
        parents = tf.cast(compose(block, mask), pending.dtype)
        slots = destinations[start : start + size] - (start + size) * arity
        pending = tf.tensor_scatter_nd_update(
            pending, tf.expand_dims(slots, -1), parents
        )
        return step + 1, pending, states.write(step, parents)

    _, _, states = tf.while_loop(
        lambda step, pending, states: step < steps,
        body,
        (tf.constant(0, tf.int32), pending, states),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None, width]),
            tf.TensorShape(None),
        ),
    )
    return tf.cond(
        steps > 0,
        states.concat,
        lambda: tf.zeros((0, width), pending.dtype),
    )
