"""Gradient clipping for every zoo model, on Keras' own training step, and thread settings.

Keras' `fit` runs its own `train_step` unchanged; the clipping sits in the optimizer, whose
public `apply` receives the gradients between the tape and the update. The settings travel
with the optimizer's config, so a reloaded `.keras` model trains exactly as the saved one did.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from zoo.config import CLIP_MODES
from zoo.errors import UsageError


def check_clip_mode(mode: str) -> None:
    if mode not in CLIP_MODES:
        raise UsageError(f"clip_mode={mode!r} is not accepted; expected {' or '.join(CLIP_MODES)}")


def clip_gradients(gradients: list, clip_norm: float | None, mode: str = "norm") -> list:
    """Clips gradients to `clip_norm`: each on its own ("norm") or all together ("global").

    `None` gradients (variables the loss does not reach) pass through unchanged.
    """
    check_clip_mode(mode)
    if clip_norm is None:
        return list(gradients)
    # An embedding's gradient arrives as IndexedSlices whose repeated rows are not yet summed;
    # their norm is not the gradient's, so densify before measuring.
    gradients = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                 for g in gradients]
    if mode == "norm":
        return [None if g is None else tf.clip_by_norm(g, clip_norm) for g in gradients]
    clipped, _ = tf.clip_by_global_norm(gradients, clip_norm)
    return clipped


@keras.saving.register_keras_serializable(package="zoo")
class ClippedAdam(keras.optimizers.Adam):
    """Adam that clips the gradients it is given before its update.

    Keras' own `clipnorm` clips with its own arithmetic and leaves an embedding's sparse
    gradient sparse; this clips exactly with `tf.clip_by_norm` (or `tf.clip_by_global_norm`)
    on the densified gradients, as the tutorials do.

    Args:
        learning_rate: a number or a `keras.optimizers.schedules` schedule.
        clip_norm: clip gradients to this norm; `None` leaves them alone.
        clip_mode: "norm" (`tf.clip_by_norm` on each gradient) or "global"
            (`tf.clip_by_global_norm` over all of them).
        **kwargs: the rest of `keras.optimizers.Adam`'s arguments.
    """

    def __init__(self, learning_rate=0.001, clip_norm: float | None = None,
                 clip_mode: str = "norm", **kwargs):
        check_clip_mode(clip_mode)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.clip_norm = clip_norm
        self.clip_mode = clip_mode

    def apply(self, grads, trainable_variables=None):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if self.clip_norm is None or replicas == 1:
            return super().apply(clip_gradients(grads, self.clip_norm, self.clip_mode),
                                 trainable_variables)
        # Under a `tf.distribute` strategy each replica holds its part of the gradient, and
        # Keras sums the parts after `apply`. Clipping a part is not clipping the gradient, so
        # sum them here, clip the sum as one device would, and hand Keras equal shares of it.
        dense = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                 for g in grads]
        summed = iter(context.all_reduce(tf.distribute.ReduceOp.SUM,
                                         [g for g in dense if g is not None]))
        clipped = clip_gradients([None if g is None else next(summed) for g in dense],
                                 self.clip_norm, self.clip_mode)
        return super().apply([None if g is None else g / replicas for g in clipped],
                             trainable_variables)

    def get_config(self):
        return {**super().get_config(), "clip_norm": self.clip_norm, "clip_mode": self.clip_mode}


def configure_threads() -> None:
    """Thread pools for small CPUs; call before TensorFlow runs its first op.

    An RNN step is a chain of small matmuls and elementwise ops: splitting each across cores
    costs more than it gains, so on up to 4 cores each op runs on one thread and independent
    ops (two stacked cells' steps, forward and input pipeline) run side by side.
    `ZOO_THREADS=N` sets the per-op threads instead (0: TensorFlow's default).
    """
    threads = os.environ.get("ZOO_THREADS", "1" if (os.cpu_count() or 1) <= 4 else "0")
    if not threads.isdigit():
        raise UsageError(f"ZOO_THREADS={threads!r} is not a thread count; use an integer >= 0")
    if tf.config.threading.get_intra_op_parallelism_threads() != int(threads):
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        except RuntimeError:  # TensorFlow already runs (a notebook, a test): keep its pools
            pass
