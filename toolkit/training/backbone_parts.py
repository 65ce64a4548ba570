"""The parts of a model `fine_tune` works on: its backbone, the head after
it, the point the backbone is unfrozen from and the learning-rate groups.

A model here is a functional `keras.Model` with a nested model layer (by
default named `"backbone"`): everything up to and including it is the
feature extractor, everything after it the head.
"""

import re

import keras

from toolkit import validation as v
from toolkit._keras_compat import layer_call_outputs

#: A block of a backbone: the name up to `block<N>` (ResNet's
#: `conv5_block3`, VGG's `block5`, EfficientNet's `block6a`, MobileNetV2's
#: `block_16`).
BLOCK = re.compile(r"^(.*?block_?\d+[a-z]?)(?=_|$)")

#: The `layer_rates` key of every layer outside the backbone.
HEAD = "head"


def find_backbone(model, name):
    """The nested model layer `name` of `model`, or a `ValueError` that
    lists the nested models there are."""
    nested = [layer.name for layer in model.layers if _is_model(layer)]
    layer = next((x for x in model.layers if x.name == name), None)
    if layer is None or not _is_model(layer):
        raise ValueError(
            f"Argument `backbone` must name a nested model layer of "
            f"`model`; its nested models are {nested}. Received: "
            f"backbone={name!r}"
        )
    return layer


def backbone_output(model, backbone):
    """The tensor the backbone's call inside `model` outputs."""
    for outputs in layer_call_outputs(backbone):
        if len(outputs) != 1:
            continue
        try:
            keras.Model(model.inputs, outputs[0])
        except ValueError:
            continue  # a call in another model's graph
        return outputs[0]
    raise ValueError(
        f"The backbone {backbone.name!r} must be called once in `model`, "
        "with one output tensor. Received: a model whose graph has no "
        "such call"
    )


def feature_and_head_models(model, backbone):
    """`(features, head)`: the model up to the backbone's output, and the
    layers after it as a model of those features (sharing `model`'s
    layers and weights), or `(features, None)` when the head also reads
    something other than the features."""
    output = backbone_output(model, backbone)
    features = keras.Model(model.inputs, output, name="frozen_features")
    try:
        head = keras.Model(output, model.outputs, name="head")
    except ValueError:
        return features, None
    return features, head


def stage_prefixes(backbone):
    """The distinct first name parts (`"conv1_"`, `"conv2_"`, ...) of the
    backbone's layers, in layer order."""
    prefixes = []
    for layer in backbone.layers:
        if "_" in layer.name:
            prefix = layer.name.split("_")[0] + "_"
            if prefix not in prefixes:
                prefixes.append(prefix)
    return prefixes


def blocks(backbone):
    """`[(block_name, index_of_its_first_layer), ...]` in layer order.

    A block is a run of layers whose names start with the same
    `...block<N>` (see `BLOCK`); a backbone without such names counts
    each layer with weights as a block.
    """
    found = []
    for index, layer in enumerate(backbone.layers):
        match = BLOCK.match(layer.name)
        if match and (not found or found[-1][0] != match.group(1)):
            found.append((match.group(1), index))
    if found:
        return found
    return [
        (layer.name, index)
        for index, layer in enumerate(backbone.layers)
        if layer.weights
    ]


def unfreeze_index(backbone, unfreeze):
    """The index in `backbone.layers` from which phase 2 trains.

    A str is a layer-name prefix: the first layer whose name starts with
    it, and every later one. An int `N` is the last `N` blocks (see
    `blocks`), with every layer after the last block (pooling) too.
    """
    if isinstance(unfreeze, str):
        for index, layer in enumerate(backbone.layers):
            if layer.name.startswith(unfreeze):
                return index
        raise ValueError(
            "Argument `unfreeze` must be a prefix of a backbone layer's "
            f"name; the backbone's stage prefixes are "
            f"{stage_prefixes(backbone)}. Received: unfreeze={unfreeze!r}"
        )
    found = blocks(backbone)
    if (
        isinstance(unfreeze, bool)
        or not isinstance(unfreeze, int)
        or not 1 <= unfreeze <= len(found)
    ):
        raise ValueError(
            "Argument `unfreeze` must be a layer-name prefix (str) or a "
            f"number of blocks in [1, {len(found)}] (the backbone's blocks "
            f"run from {found[0][0]!r} to {found[-1][0]!r}). Received: "
            f"unfreeze={unfreeze!r}"
        )
    return found[-unfreeze][1]


def freeze(backbone):
    """Phase 1: nothing of the backbone trains, BatchNorm runs in inference
    mode (in Keras 3, `trainable=False` on a BatchNormalization layer
    means inference mode)."""
    backbone.trainable = False


def unfreeze_from(backbone, start):
    """Phase 2: layers `start, start+1, ...` train, except BatchNorm
    layers, which stay frozen and in inference mode."""
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= start
        for sublayer in _with_sublayers(layer):
            if isinstance(sublayer, keras.layers.BatchNormalization):
                sublayer.trainable = False


def check_layer_rates(backbone, layer_rates):
    """`layer_rates` as `(multipliers, default)` for
    `DiscriminativeOptimizer`, after checking every key and rate."""
    if layer_rates is None:
        return None
    if not isinstance(layer_rates, dict) or not layer_rates:
        raise ValueError(
            "Argument `layer_rates` must be None or a non-empty dict from "
            f"a backbone layer-name prefix (or {HEAD!r}) to a multiplier "
            f"> 0. Received: layer_rates={layer_rates!r}"
        )
    names = [layer.name for layer in backbone.layers]
    multipliers = {}
    for key, rate in layer_rates.items():
        rate = v.check_positive(f"layer_rates[{key!r}]", rate)
        if key == HEAD:
            continue
        if not isinstance(key, str) or not any(
            name.startswith(key) for name in names
        ):
            raise ValueError(
                "Argument `layer_rates` must have keys that are prefixes "
                f"of backbone layer names (stage prefixes: "
                f"{stage_prefixes(backbone)}) or {HEAD!r}. Received: a key "
                f"{key!r}"
            )
        multipliers[key] = rate
    return multipliers, float(layer_rates.get(HEAD, 1.0))


def has_layer(model, name):
    """Whether `model` has a (top-level) layer named `name`."""
    return any(layer.name == name for layer in model.layers)


def _is_model(layer):
    return isinstance(layer, keras.Model)


def _with_sublayers(layer):
    yield layer
    for sublayer in getattr(layer, "layers", ()):
        yield from _with_sublayers(sublayer)
