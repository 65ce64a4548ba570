"""The Tree-LSTM composers of Tai, Socher and Manning (2015)."""

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.recursive.tree_composer import TreeComposer


@register
class TreeLSTMComposer(TreeComposer):
    """Tree-LSTM over trees, N-ary (fixed child slots) or Child-Sum.

    A node `j` keeps a hidden vector `h_j` and a memory cell `c_j`. Leaves
    read their input `x_j` (internal nodes have none, as in the
    constituency Tree-LSTM):

    ```
    i, o, u = sigmoid(W_i x + b_i), sigmoid(W_o x + b_o), tanh(W_u x + b_u)
    c = i * u,   h = o * tanh(c)
    ```

    An internal node with children `1..N` (`variant="n_ary"`, one weight
    block per child slot `l`):

    ```
    i   = sigmoid(sum_l U_i^l h_l + b_i)        (same for o, and u by tanh)
    f_k = sigmoid(sum_l U_f^{kl} h_l + b_f)     one forget gate per child
    c   = i * u + sum_k f_k * c_k,   h = o * tanh(c)
    ```

    or, for trees of any arity and unordered children
    (`variant="child_sum"`), with `h~ = sum_k h_k`:

    ```
    i = sigmoid(U_i h~ + b_i)      (same for o, and u by tanh)
    f_k = sigmoid(U_f h_k + b_f)
    c = i * u + sum_k f_k * c_k,   h = o * tanh(c)
    ```

    Missing children are zero states (and have no forget term). The N-ary
    arity is the last dimension of `children`. All nodes of one height
    across the batch are composed in one step (see `TreeComposer`).

    Args:
        units: int, size of `h` and `c`.
        variant: `"n_ary"` or `"child_sum"`. Default: `"n_ary"`.
        unit_forget_bias: bool, start `b_f` at 1. Default: True.
        kernel_initializer: initializer of `W` (`kernel`,
            `(features, 3 * units)`). Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of the `U` blocks
            (`recurrent_kernel`, `(N * units or units, 3 * units)`, and
            `forget_kernel`, `(N * units, N * units)` or `(units, units)`).
            Default: `"glorot_uniform"`.
        bias_initializer: initializer of `b_i, b_o, b_u` (`bias`) and `b_f`
            (`forget_bias`). Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`. Default: None.
        recurrent_regularizer: regularizer of `recurrent_kernel` and
            `forget_kernel`. Default: None.
        bias_regularizer: regularizer of `bias` and `forget_bias`.
            Default: None.
        dynamic_batching: bool, see `TreeComposer`. Default: True.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(batch, max_nodes, features)` node inputs (leaves read).
        children: int `(batch, max_nodes, max_children)`, -1 for none.
        heights: int `(batch, max_nodes)`, 0 for leaves, -1 for padding.

    Returns:
        `(roots, nodes)`: the hidden vectors `h`, `(batch, units)` and
        `(batch, max_nodes, units)`.

    Example:

    ```python
    composer = TreeLSTMComposer(64, variant="child_sum")
    roots, nodes = composer(vectors, batch["children"], batch["heights"])
    ```

    Reference: K. S. Tai, R. Socher and C. D. Manning, "Improved Semantic
    Representations From Tree-Structured Long Short-Term Memory
    Networks", ACL 2015.
    """

    def __init__(
        self,
        units,
        variant="n_ary",
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        dynamic_batching=True,
        **kwargs,
    ):
        variant = v.check_choice("variant", variant, {"n_ary", "child_sum"})
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
        super().__init__(units, dynamic_batching=dynamic_batching, **kwargs)
        self.variant = variant
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer

    @property
    def state_size(self):
        return 2 * self.units

    def build(self, inputs_shape, children_shape, heights_shape):
        features = inputs_shape[-1]
        if features is None:
            raise ValueError(
                "The last dimension of `inputs` of `TreeLSTMComposer` must "
                f"be defined. Received: inputs.shape={tuple(inputs_shape)}"
            )
        self.arity = self._check_arity(children_shape)
        u = self.units
        slots = self.arity if self.variant == "n_ary" else 1
        self.kernel = self.add_weight(
            shape=(features, 3 * u),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(slots * u, 3 * u),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.forget_kernel = self.add_weight(
            shape=(slots * u, slots * u),
            name="forget_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = self.add_weight(
            shape=(3 * u,),
            name="bias",
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
        )
        self.forget_bias = self.add_weight(
            shape=(u,),
            name="forget_bias",
            initializer="ones"
            if self.unit_forget_bias
            else self.bias_initializer,
            regularizer=self.bias_regularizer,
        )

    def _cell(self, z, forget_terms):
        """`[h; c]` from the gate pre-activations `z = [i, o, u]` and the
        children's carried memory `sum_k f_k * c_k` (or None)."""
        # (splits, not slices: a split's gradient is one concatenation)
        i, o, g = ops.split(z, 3, axis=-1)
        i, o = ops.sigmoid(i), ops.sigmoid(o)
        c = i * ops.tanh(g)
        if forget_terms is not None:
            c = c + forget_terms
        return ops.concatenate([o * ops.tanh(c), c], axis=-1)

    def leaf_states(self, inputs):
        return self._cell(ops.matmul(inputs, self.kernel) + self.bias, None)

    def compose(self, child_states, child_mask):
        u = self.units
        h, c = ops.split(child_states, 2, axis=-1)
        if self.variant == "n_ary":
            flat = ops.reshape(h, (-1, self.arity * u))
            z = ops.matmul(flat, self.recurrent_kernel) + self.bias
            f = ops.matmul(flat, self.forget_kernel)
            f = ops.reshape(f, (-1, self.arity, u)) + self.forget_bias
        else:
            z = ops.matmul(ops.sum(h, axis=1), self.recurrent_kernel)
            z = z + self.bias
            f = ops.matmul(h, self.forget_kernel) + self.forget_bias
        f = ops.sigmoid(f) * ops.expand_dims(child_mask, -1)
        return self._cell(z, ops.sum(f * c, axis=1))

    def get_config(self):
        config = {
            "variant": self.variant,
            "unit_forget_bias": self.unit_forget_bias,
        }
        for part in ("kernel", "recurrent", "bias"):
            config[f"{part}_initializer"] = keras.initializers.serialize(
                getattr(self, f"{part}_initializer")
            )
            config[f"{part}_regularizer"] = keras.regularizers.serialize(
                getattr(self, f"{part}_regularizer")
            )
        return {**super().get_config(), **config}
