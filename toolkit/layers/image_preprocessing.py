"""The input preprocessing of the ImageNet-trained `keras.applications`
backbones, as a serializable layer."""

import keras
import numpy as np
from keras import ops

from toolkit.api_export import register

#: The modes of `keras.applications.imagenet_utils.preprocess_input`, and
#: None for backbones that preprocess inside (EfficientNet, ConvNeXt).
MODES = ("caffe", "tf", "torch", None)

#: ImageNet's mean pixel on the 0-255 scale, in BGR order (caffe mode).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

#: ImageNet's mean and standard deviation on the 0-1 scale, RGB (torch).
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)


@register
class ImagePreprocessing(keras.layers.Layer):
    """What an ImageNet-trained backbone expects of raw 0-255 RGB images.

    The same arithmetic as
    `keras.applications.imagenet_utils.preprocess_input(x, mode=mode)`
    (channels last), inside the model, so that the model takes raw images
    and a saved `.keras` file carries its own preprocessing. Per pixel,
    with channels `(r, g, b)` in [0, 255]:

    ```
    caffe:  (b - 103.939, g - 116.779, r - 123.68)   # RGB -> BGR, no scale
    tf:     x / 127.5 - 1                            # into [-1, 1]
    torch:  (x / 255 - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)
    None:   x                                        # unchanged
    ```

    Caffe mode is the one of Keras's ResNet (v1) and VGG weights, which
    came from Caffe (He et al. 2016); "tf" is that of MobileNetV2, ResNetV2,
    Xception and Inception; "torch" that of DenseNet. EfficientNet and
    ConvNeXt rescale inside their own graph: mode None.

    Args:
        mode: one of `"caffe"`, `"tf"`, `"torch"` or None.
            Default: `"caffe"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: a tensor `(batch, height, width, 3)` of RGB values in
            [0, 255], any real or integer dtype (cast to the layer's
            compute dtype).

    Example:

    ```python
    import numpy as np
    from toolkit.layers import ImagePreprocessing

    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    x = ImagePreprocessing("caffe")(images)  # BGR, mean subtracted
    ```
    """

    def __init__(self, mode="caffe", **kwargs):
        if mode not in MODES:
            raise ValueError(
                "Argument `mode` must be one of 'caffe', 'tf', 'torch' or "
                f"None. Received: mode={mode!r}"
            )
        super().__init__(**kwargs)
        self.mode = mode
        self.supports_masking = True

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.mode in ("caffe", "torch") and channels not in (None, 3):
            raise ValueError(
                f"Mode {self.mode!r} takes RGB images with 3 channels "
                "last. Received: inputs of shape "
                f"{tuple(input_shape)}"
            )

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode is None:
            return x
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(np.array(TORCH_MEAN), x.dtype)
            std = ops.convert_to_tensor(np.array(TORCH_STD), x.dtype)
            return (x / 255.0 - mean) / std
        mean = ops.convert_to_tensor(np.array(CAFFE_MEAN_BGR), x.dtype)
        return ops.flip(x, axis=-1) - mean

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
