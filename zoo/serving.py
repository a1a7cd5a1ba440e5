"""What every family's serving signatures share. Each family's signatures are in its folder
(`zoo/models/<family>/serving.py`); they are `tf.function`s with fixed input signatures (named
inputs, fixed dtypes) returning dicts (named outputs), and everything they need is inside the
SavedModel, so they run with TensorFlow alone."""

from __future__ import annotations

import tensorflow as tf


def check_shape(tensor: tf.Tensor, shape: tuple, name: str) -> tf.Tensor:
    """A loaded signature does not check its input's shape: refuse a wrong one in one line
    rather than deep inside the recurrent loop. Returns `tensor`, usable only after the check
    (a check nothing depends on may run after the model has failed on the input)."""
    wanted = ", ".join("batch" if d is None else str(d) for d in shape)
    check = tf.debugging.assert_equal(tf.shape(tensor)[1:], tf.constant(shape[1:], tf.int32),
                                      message=f"{name} must have shape ({wanted})")
    with tf.control_dependencies([check]):
        return tf.identity(tensor)
