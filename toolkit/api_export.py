"""The one registration decorator for every public serializable object."""

import keras

PACKAGE = "toolkit"


def register(cls):
    """Register `cls` with Keras serialization under the `toolkit` package.

    Every public layer, initializer, schedule and model carries this
    decorator, so that a saved `.keras` file loads back without
    `custom_objects` and without `safe_mode=False`. The registered name is
    `"toolkit>ClassName"`.

    Callbacks have no `get_config` and are not registered.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
