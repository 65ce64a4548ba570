"""Dynamic batching by tree height, shared by every tree composer.

A recursive net applies one composition function bottom-up over a tree:
a node's state is `compose(states of its children)`. Done node by node,
a batch of trees costs one sequential step per internal node. Dynamic
batching (Looks et al. 2017) notes that all nodes of the same height, in
every tree of the batch, only depend on lower nodes, so they can be
composed together: one read of their children's states, one batched
composition, one write of the results. The number of sequential steps
becomes the height of the tallest tree.

`TreeComposer.call` receives the flat encoding of
`toolkit.data.trees.encode_trees` (per tree, padded), merges the batch,
sorts its nodes by height once, starts the leaves with `leaf_states`, and
loops over heights, calling the subclass's `compose` once per height:

- on TensorFlow (`_push_levels`), each step reads its children from the
  front of a buffer of child slots and writes its states into its
  parents' slots; the buffer shrinks level by level, so a step costs in
  proportion to the nodes still waiting (`_tensorflow_loop.py`);
- on any backend (`_scatter_levels`, `keras.ops.fori_loop`, in static
  shapes so that JAX can trace and differentiate it), each step composes
  every row of one buffer of all `batch * max_nodes` node states and
  keeps the rows of its height, a cost in proportion to the whole batch
  at every step.

Both give the same outputs and gradients. Subclasses implement `build`,
`state_size`, `leaf_states` and `compose`.

Reference: M. Looks, M. Herreshoff, D. Hutchins and P. Norvig, "Deep
Learning with Dynamic Computation Graphs", ICLR 2017.
"""

import keras
from keras import ops

from toolkit import validation as v


class TreeComposer(keras.layers.Layer):
    """Base class of the tree composers (not used directly).

    Args:
        units: int, size of a node's output vector.
        dynamic_batching: bool. True: compose all nodes of one height
            across the batch in one step (steps = tallest tree). False:
            one internal node per step (steps = internal nodes), the
            per-node recursion, kept as a reference and a benchmark peer.
            Default: True.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: float tensor `(batch, max_nodes, features)`, the input
            vector of every node (e.g. an `Embedding` of `tokens`); only the
            leaves' rows are read.
        children: int tensor `(batch, max_nodes, max_children)`, each
            node's children as rows of the same tree, -1 for none.
        heights: int tensor `(batch, max_nodes)`, 0 for leaves, -1 for
            padding.

    Returns:
        `(roots, nodes)`: the root vector of each tree `(batch, units)` and
        every node's vector `(batch, max_nodes, units)` (zeros for
        padding).
    """

    # TensorFlow backend: the shrinking-buffer loop (`_push_levels`); set
    # False on an instance to run the portable loop (tests compare both)
    _tensorflow_loop = True

    def __init__(self, units, dynamic_batching=True, **kwargs):
        units = v.check_positive_int("units", units)
        super().__init__(**kwargs)
        self.units = units
        self.dynamic_batching = bool(dynamic_batching)

    # --------------------------------------------------------- subclasses
    @property
    def state_size(self):
        """Width of a node's state in the buffer (`units`, or `2 * units`
        for a Tree-LSTM's `[h; c]`)."""
        return self.units

    def leaf_states(self, inputs):
        """States `(n, state_size)` of leaves with input rows `(n, D)`."""
        raise NotImplementedError

    def compose(self, child_states, child_mask):
        """States `(n, state_size)` of `n` parents from their children's
        states `(n, max_children, state_size)` (zeros where missing) and
        the float mask `(n, max_children)` of present children."""
        raise NotImplementedError

    def _outputs(self, states):
        """The output part of states `(n, state_size)`: the first `units`
        columns (e.g. `h` of a Tree-LSTM's `[h; c]`)."""
        if self.state_size == self.units:
            return states
        return ops.split(states, [self.units], axis=-1)[0]

    def _check_arity(self, children_shape, allowed=None):
        arity = children_shape[-1]
        if arity is None or (allowed is not None and arity != allowed):
            wanted = "defined" if allowed is None else f"{allowed}"
            raise ValueError(
                f"The last dimension of `children` (the child slots per "
                f"node) of `{type(self).__name__}` must be {wanted}. "
                f"Received: children.shape={tuple(children_shape)}"
            )
        return arity

    # ------------------------------------------------------------- call
    def _schedule(self, flat_heights):
        """`(order, leaves, starts, sizes, steps)`: every real node sorted
        by height (padding last); the first `leaves` are the leaves, and
        step `s` composes `order[starts[s]:starts[s] + sizes[s]]`."""
        large = ops.max(flat_heights) + 1
        key = ops.where(flat_heights >= 0, flat_heights, large)
        order = ops.cast(ops.argsort(key), "int32")
        # counts[h] = nodes of height h (padding, -1, falls in bin 0)
        counts = ops.cast(ops.bincount(flat_heights + 1)[1:], "int32")
        leaves = counts[0]
        counts = counts[1:]
        if self.dynamic_batching:
            starts = leaves + ops.cumsum(counts) - counts
            return order, leaves, starts, counts, ops.shape(counts)[0]
        total = ops.sum(counts)
        starts = leaves + ops.arange(total, dtype="int32")
        return order, leaves, starts, ops.ones_like(starts), total

    def _scatter_levels(
        self, flat_inputs, flat_children, flat_heights, max_nodes
    ):
        """The portable loop, in static shapes (JAX traces nothing else):
        a buffer of every node's state, in the nodes' own order. With
        dynamic batching step `h` composes every row and keeps the result
        in the rows of height `h`; without, step `s` composes the `s`-th
        internal node in height order. The trip count is the largest
        possible (a `fori_loop` over known bounds, which JAX can
        differentiate) and the steps past the last one are skipped by a
        `cond`. Returns the `(nodes, units)` outputs in the nodes' order."""
        total = ops.shape(flat_heights)[0]
        arity = flat_children.shape[-1]
        leaf_states = ops.cast(
            self.leaf_states(flat_inputs), self.compute_dtype
        )
        buffer = ops.where(
            ops.expand_dims(flat_heights == 0, -1),
            leaf_states,
            ops.zeros_like(leaf_states),
        )
        present = flat_children >= 0
        kids = ops.maximum(flat_children, 0)

        def composed(buffer, kids, present):
            mask = ops.cast(present, buffer.dtype)
            states = ops.take(buffer, ops.reshape(kids, (-1,)), axis=0)
            states = ops.reshape(states, (-1, arity, buffer.shape[-1]))
            states = states * ops.expand_dims(mask, -1)
            return ops.cast(self.compose(states, mask), buffer.dtype)

        if self.dynamic_batching:
            tallest = ops.max(flat_heights)

            def level(height, buffer):
                parents = composed(buffer, kids, present)
                rows = ops.expand_dims(flat_heights == height, -1)
                return ops.where(rows, parents, buffer)

            def body(step, buffer):
                return ops.cond(
                    step < tallest,
                    lambda: level(step + 1, buffer),
                    lambda: buffer,
                )

            buffer = ops.fori_loop(0, max_nodes - 1, body, buffer)
            return self._outputs(buffer)

        large = ops.max(flat_heights) + 1
        key = ops.where(flat_heights > 0, flat_heights, large)
        order = ops.cast(ops.argsort(key), "int32")
        internal = ops.sum(ops.cast(flat_heights > 0, "int32"))

        def node(step, buffer):
            row = ops.reshape(ops.take(order, step), (1,))
            parent = composed(
                buffer,
                ops.take(kids, row, axis=0),
                ops.take(present, row, axis=0),
            )
            return ops.scatter_update(buffer, ops.expand_dims(row, -1), parent)

        def step_body(step, buffer):
            return ops.cond(
                step < internal,
                lambda: node(step, buffer),
                lambda: buffer,
            )

        buffer = ops.fori_loop(0, total, step_body, buffer)
        return self._outputs(buffer)

    def _push_levels(
        self, flat_inputs, flat_children, order, leaves, starts, sizes
    ):
        """The TensorFlow loop (`_tensorflow_loop.push_loop`): nodes in
        height order, each step reading its children from the front of a
        shrinking buffer of child slots and writing its states into their
        parents' slots. Returns the `(nodes, units)` outputs in the nodes'
        order."""
        from toolkit.layers.recursive._tensorflow_loop import push_loop

        total = ops.shape(order)[0]
        arity = flat_children.shape[-1]
        internal = ops.sum(sizes)
        # rank[n]: position of node n in height order
        rank = ops.scatter(
            ops.expand_dims(order, -1),
            ops.arange(total, dtype="int32"),
            (total,),
        )
        inner = ops.slice(
            order, ops.reshape(leaves, (1,)), ops.reshape(internal, (1,))
        )
        kids = ops.take(flat_children, inner, axis=0)
        present = kids >= 0
        # slot j * arity + k holds the k-th child of the j-th internal node;
        # `spare`, past the last internal node, takes the roots' states
        spare = internal * arity
        slots = ops.reshape(
            ops.arange(internal, dtype="int32") * arity, (-1, 1)
        ) + ops.arange(arity, dtype="int32")
        sources = ops.where(
            present, ops.take(rank, ops.maximum(kids, 0)), total
        )
        # destination of every node (by rank); missing children add to the
        # dropped entry `total`
        destinations = spare + ops.scatter(
            ops.reshape(sources, (-1, 1)),
            ops.reshape(slots - spare, (-1,)),
            (total + 1,),
        )
        leaf_states = self.leaf_states(
            ops.take(flat_inputs, order[:leaves], axis=0)
        )
        leaf_states = ops.cast(leaf_states, self.compute_dtype)
        width = leaf_states.shape[-1]
        pending = ops.scatter(
            ops.expand_dims(destinations[:leaves], -1),
            leaf_states,
            (spare + arity, width),
        )
        states = push_loop(
            self.compose,
            pending,
            ops.slice(
                destinations,
                ops.reshape(leaves, (1,)),
                ops.reshape(internal, (1,)),
            ),
            present,
            starts - leaves,
            sizes,
            arity,
        )
        padding = ops.zeros((total - leaves - internal, width), states.dtype)
        in_order = ops.concatenate([leaf_states, states, padding], axis=0)
        return ops.take(self._outputs(in_order), rank, axis=0)

    def call(self, inputs, children, heights, training=None):
        heights = ops.cast(heights, "int32")
        children = ops.cast(children, "int32")
        batch = ops.shape(heights)[0]
        max_nodes = ops.shape(heights)[1]
        arity = children.shape[-1]
        offsets = ops.reshape(
            ops.arange(batch, dtype="int32") * max_nodes, (-1, 1, 1)
        )
        flat_children = ops.reshape(
            ops.where(children >= 0, children + offsets, -1), (-1, arity)
        )
        flat_heights = ops.reshape(heights, (-1,))
        flat_inputs = ops.reshape(inputs, (-1, inputs.shape[-1]))
        if self._tensorflow_loop and keras.backend.backend() == "tensorflow":
            order, leaves, starts, sizes, _ = self._schedule(flat_heights)
            outputs = self._push_levels(
                flat_inputs, flat_children, order, leaves, starts, sizes
            )
        else:
            outputs = self._scatter_levels(
                flat_inputs, flat_children, flat_heights, max_nodes
            )
        # padding rows are zeros already: no node ever writes them
        nodes = ops.reshape(outputs, (batch, max_nodes, self.units))
        roots = ops.cast(ops.argmax(heights, axis=1), "int32")
        roots = ops.take(
            outputs,
            ops.arange(batch, dtype="int32") * max_nodes + roots,
            axis=0,
        )
        return roots, nodes

    def compute_output_shape(self, inputs_shape, children_shape, heights_shape):
        batch, max_nodes = heights_shape[0], heights_shape[1]
        return (batch, self.units), (batch, max_nodes, self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "dynamic_batching": self.dynamic_batching}
        )
        return config
