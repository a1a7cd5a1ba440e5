"""What every family's serving signatures share. Each family's signatures are in its folder
(`zoo/models/<family>/serving.py`); they are `tf.function`s with fixed input signatures (named
inputs, fixed dtypes) returning dicts (named outputs), and everything they need is inside the
SavedModel, so they run with TensorFlow alone."""

from __future__ import annotations

import tensorflow as tf


def after(checks: list, *tensors: tf.Tensor):
    """`tensors`, usable only once `checks` (tf.debugging asserts) have passed: a check that
    nothing depends on may run after an inner op has failed on the input, and then the error
    names neither the input nor what is accepted. One tensor in, one out."""
    with tf.control_dependencies(checks):
        passed = tuple(tf.identity(tensor) for tensor in tensors)
    return passed[0] if len(passed) == 1 else passed


def check_shape(tensor: tf.Tensor, shape: tuple, name: str) -> tf.Tensor:
    """A loaded signature does not check its input's shape: refuse a wrong one in one line
    rather than deep inside the recurrent loop. Returns `tensor`, usable only after the check."""
    wanted = ", ".join("batch" if d is None else str(d) for d in shape)
    check = tf.debugging.assert_equal(tf.shape(tensor)[1:], tf.constant(shape[1:], tf.int32),
                                      message=f"{name} must have shape ({wanted})")
    return after([check], tensor)
