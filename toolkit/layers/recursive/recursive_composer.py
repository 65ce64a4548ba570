"""The recursive neural network composer of Socher et al. (2011)."""

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.recursive.tree_composer import TreeComposer


@register
class RecursiveComposer(TreeComposer):
    """Recursive neural network over binary trees, by dynamic batching.

    A leaf's vector is its input (a word vector of size `units`); a parent
    with children `c1`, `c2` gets

    ```
    p = tanh(W [c1; c2] + b)
    ```

    with `W` of shape `(units, 2 * units)` (stored transposed as `kernel`,
    `(2 * units, units)`). A missing child is a zero vector. All nodes of
    one height across the batch are composed in one step (see
    `TreeComposer`).

    Args:
        units: int, size of every node vector (and of the leaf inputs).
        activation: activation of the composition. Default: `"tanh"`.
        use_bias: bool. Default: True.
        kernel_initializer: initializer of `W`. Default: `"glorot_uniform"`.
        bias_initializer: initializer of `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `W`. Default: None.
        bias_regularizer: regularizer of `b`. Default: None.
        dynamic_batching: bool, see `TreeComposer`. Default: True.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(batch, max_nodes, units)` node inputs (leaves read).
        children: int `(batch, max_nodes, 2)`, -1 for no child.
        heights: int `(batch, max_nodes)`, 0 for leaves, -1 for padding.

    Returns:
        `(roots, nodes)`: `(batch, units)` and `(batch, max_nodes, units)`.

    Example:

    ```python
    import keras
    from toolkit.data.trees import Vocabulary, encode_trees, parse_tree
    from toolkit.layers import RecursiveComposer

    trees = [parse_tree("(3 (2 It) (4 (2 is) (3 good)))")]
    vocab = Vocabulary.from_trees(trees)
    batch = encode_trees(trees, vocab)
    vectors = keras.layers.Embedding(len(vocab), 16)(batch["tokens"])
    roots, nodes = RecursiveComposer(16)(
        vectors, batch["children"], batch["heights"])
    ```

    Reference: R. Socher, C. C.-Y. Lin, A. Y. Ng and C. D. Manning,
    "Parsing Natural Scenes and Natural Language with Recursive Neural
    Networks", ICML 2011.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        dynamic_batching=True,
        **kwargs,
    ):
        activation = v.get_activation("activation", activation)
        kernel_initializer = v.get_initializer(
            "kernel_initializer", kernel_initializer
        )
        bias_initializer = v.get_initializer(
            "bias_initializer", bias_initializer
        )
        kernel_regularizer = v.get_regularizer(
            "kernel_regularizer", kernel_regularizer
        )
        bias_regularizer = v.get_regularizer(
            "bias_regularizer", bias_regularizer
        )
        super().__init__(units, dynamic_batching=dynamic_batching, **kwargs)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer

    def _check_leaf_inputs(self, inputs_shape):
        if inputs_shape[-1] != self.units:
            raise ValueError(
                f"The last dimension of `inputs` of `{type(self).__name__}` "
                f"must equal `units` ({self.units}): leaves' vectors are "
                f"their inputs. Received: inputs.shape={tuple(inputs_shape)}"
            )

    def build(self, inputs_shape, children_shape, heights_shape):
        self._check_leaf_inputs(inputs_shape)
        self._check_arity(children_shape, allowed=2)
        self.kernel = self.add_weight(
            shape=(2 * self.units, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def leaf_states(self, inputs):
        return inputs

    def _linear(self, child_states):
        pair = ops.reshape(child_states, (-1, 2 * self.units))
        z = ops.matmul(pair, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        return pair, z

    def compose(self, child_states, child_mask):
        _, z = self._linear(child_states)
        return self.activation(z)

    def get_config(self):
        config = {
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }
        for part in ("kernel", "bias"):
            config[f"{part}_initializer"] = keras.initializers.serialize(
                getattr(self, f"{part}_initializer")
            )
            config[f"{part}_regularizer"] = keras.regularizers.serialize(
                getattr(self, f"{part}_regularizer")
            )
        return {**super().get_config(), **config}
