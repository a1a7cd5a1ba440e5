"""The training step every zoo model shares: Keras' own, with gradient clipping added."""

from __future__ import annotations

import os

import keras
import tensorflow as tf
from keras.src.losses.loss import unscale_loss_for_distribution

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


class ZooModel(keras.Model):
    """Base class of every zoo model: `compile` takes the clipping settings, `train_step` uses them.

    Args of `compile`, beyond Keras' own:
        clip_norm: clip gradients to this norm; `None` leaves them alone.
        clip_mode: "norm" (`tf.clip_by_norm` on each gradient) or "global"
            (`tf.clip_by_global_norm` over all of them).
    """

    clip_norm: float | None = None
    clip_mode: str = "norm"

    def compile(self, *args, clip_norm: float | None = None, clip_mode: str = "norm", **kwargs):
        check_clip_mode(clip_mode)
        self.clip_norm = clip_norm
        self.clip_mode = clip_mode
        super().compile(*args, **kwargs)

    # The clipping settings travel with the compile config, so a reloaded `.keras` model
    # trains exactly as the saved one did.
    def get_compile_config(self):
        config = super().get_compile_config()
        if self.compiled:
            config = {**config, "clip_norm": self.clip_norm, "clip_mode": self.clip_mode}
        return config

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def training_forward(self, x):
        """The forward pass of a training step; a model that carries state from batch to
        batch (a language model reading a stream) overrides it."""
        return self(x, training=True)

    def train_step(self, data):
        # Keras' TensorFlow train_step (keras/src/backend/tensorflow/trainer.py), with the
        # gradients clipped between the tape and the optimizer.
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self.training_forward(x)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            self._loss_tracker.update_state(
                unscale_loss_for_distribution(loss),
                sample_weight=tf.shape(tf.nest.flatten(x)[0])[0],
            )
            loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(loss, self.trainable_weights)
        gradients = clip_gradients(gradients, self.clip_norm, self.clip_mode)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


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
