"""The recursive neural tensor network composer of Socher et al. (2013)."""

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.recursive.recursive_composer import RecursiveComposer


@register
class RNTNComposer(RecursiveComposer):
    """Recursive neural tensor network (RNTN) over binary trees.

    With `c = [c1; c2]` the stacked children (size `2 * units`), a parent
    gets

    ```
    p_k = tanh(c^T V[:, :, k] c + (W c)_k + b_k),   k = 1 .. units
    ```

    the `RecursiveComposer` plus a bilinear tensor term: `V`, of shape
    `(2 * units, 2 * units, units)`, lets the two children multiply each
    other (e.g. a negation flipping the sentiment of its argument). Leaves
    are their inputs; all nodes of one height across the batch are
    composed in one step (see `TreeComposer`).

    Args:
        units: int, size of every node vector (and of the leaf inputs).
        activation: activation of the composition. Default: `"tanh"`.
        use_bias: bool. Default: True.
        kernel_initializer: initializer of `W`. Default: `"glorot_uniform"`.
        bias_initializer: initializer of `b`. Default: `"zeros"`.
        tensor_initializer: initializer of `V`. Default (None):
            `RandomNormal(stddev=0.01)`.
        kernel_regularizer: regularizer of `W`. Default: None.
        bias_regularizer: regularizer of `b`. Default: None.
        tensor_regularizer: regularizer of `V`. Default: None.
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
    composer = RNTNComposer(16)
    roots, nodes = composer(vectors, batch["children"], batch["heights"])
    ```

    Reference: R. Socher, A. Perelygin, J. Wu, J. Chuang, C. D. Manning,
    A. Ng and C. Potts, "Recursive Deep Models for Semantic
    Compositionality Over a Sentiment Treebank", EMNLP 2013.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        tensor_initializer=None,
        kernel_regularizer=None,
        bias_regularizer=None,
        tensor_regularizer=None,
        dynamic_batching=True,
        **kwargs,
    ):
        if tensor_initializer is None:
            tensor_initializer = keras.initializers.RandomNormal(stddev=0.01)
        tensor_initializer = v.get_initializer(
            "tensor_initializer", tensor_initializer
        )
        tensor_regularizer = v.get_regularizer(
            "tensor_regularizer", tensor_regularizer
        )
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            dynamic_batching=dynamic_batching,
            **kwargs,
        )
        self.tensor_initializer = tensor_initializer
        self.tensor_regularizer = tensor_regularizer

    def build(self, inputs_shape, children_shape, heights_shape):
        super().build(inputs_shape, children_shape, heights_shape)
        width = 2 * self.units
        self.tensor_kernel = self.add_weight(
            shape=(width, width, self.units),
            name="tensor_kernel",
            initializer=self.tensor_initializer,
            regularizer=self.tensor_regularizer,
        )

    def compose(self, child_states, child_mask):
        pair, z = self._linear(child_states)
        width = 2 * self.units
        # (n, 2u) @ (2u, 2u * u) -> (n, 2u, u): c^T V[:, :, k] for every k.
        left = ops.reshape(
            ops.matmul(pair, ops.reshape(self.tensor_kernel, (width, -1))),
            (-1, width, self.units),
        )
        tensor = ops.sum(left * ops.expand_dims(pair, -1), axis=1)
        return self.activation(tensor + z)

    def get_config(self):
        config = super().get_config()
        config["tensor_initializer"] = keras.initializers.serialize(
            self.tensor_initializer
        )
        config["tensor_regularizer"] = keras.regularizers.serialize(
            self.tensor_regularizer
        )
        return config
