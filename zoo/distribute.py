"""Training on several devices or machines with `tf.distribute`: `zoo run --strategy`.

    default       one device, Keras' `fit` (what every run did before this setting)
    mirrored      `tf.distribute.MirroredStrategy` over this machine's GPUs, or, with
                  `ZOO_CPU_DEVICES=N`, over N logical CPU devices (for testing)
    multi_worker  `tf.distribute.MultiWorkerMirroredStrategy`, its cluster from `TF_CONFIG`

The global batch is the recipe's `batch_size`, split evenly over the replicas.

Under `mirrored` and `multi_worker` the training steps are Keras' own `train_step`, run on
every replica by `strategy.run`; the loop around them (`train_on_replicas` below) is the
zoo's, because Keras 3's `fit` fails under these strategies for some inputs. Before training
it averages a first batch over the replicas (`_maybe_symbolic_build`), which raises for text
and for a batch smaller than the replicas, and under `MultiWorkerMirroredStrategy` for every
input (a nested value, which that strategy cannot reduce); its metric reduction fails there
too (keras-team/keras#20585). Validation and the test evaluation run on one device, on a
copy of the trained weights: the language model's evaluation streams are one sequence of
batch 1 and cannot be split.

This module reads `TF_CONFIG` and `ZOO_CPU_DEVICES` without TensorFlow, so the command line
checks them before it loads.
"""

from __future__ import annotations

import functools
import json
import math
import os
from typing import Any

from zoo.errors import UsageError

STRATEGIES = ("default", "mirrored", "multi_worker")


def check_strategy(name: str) -> None:
    """Refuses an unknown strategy name, a bad `ZOO_CPU_DEVICES` and, for `multi_worker`, a
    missing or malformed `TF_CONFIG`, before TensorFlow is loaded."""
    if name not in STRATEGIES:
        raise UsageError(f"--strategy {name!r} is not accepted; expected "
                         f"{', '.join(STRATEGIES[:-1])} or {STRATEGIES[-1]}")
    cpu_devices()
    if name == "multi_worker" and cluster_task() is None:
        raise UsageError("--strategy multi_worker reads its cluster from TF_CONFIG, which is "
                         "not set; see README, Training on several devices")


def cpu_devices() -> int:
    """`ZOO_CPU_DEVICES`: the logical CPU devices to split the CPU into (1 when unset)."""
    value = os.environ.get("ZOO_CPU_DEVICES", "1")
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"ZOO_CPU_DEVICES={value!r} is not a device count; use an integer >= 1")
    return int(value)


def cluster_task() -> tuple[str, int, bool] | None:
    """This process's (task type, task index, whether the cluster has a "chief" task) from
    `TF_CONFIG`, or None when it is not set."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = str(task["type"]), int(task["index"])
        if kind not in cluster or not 0 <= index < len(cluster[kind]):
            raise ValueError(f"task {kind}:{index} is not in the cluster")
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"TF_CONFIG is not a cluster description ({error}); expected JSON such "
                         'as {"cluster": {"worker": ["host1:port", "host2:port"]}, '
                         '"task": {"type": "worker", "index": 0}}') from None
    return kind, index, "chief" in cluster


def writes_run_dir(strategy: str) -> bool:
    """Whether this process writes the run directory: always, except a `multi_worker` process
    that is not the chief (the task "chief", or worker 0 in a cluster without one)."""
    if strategy != "multi_worker":
        return True
    task = cluster_task()
    if task is None:
        return True
    kind, index, has_chief = task
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief)


def split_cpu() -> None:
    """Splits the CPU into `ZOO_CPU_DEVICES` logical devices; call before TensorFlow runs its
    first op. Does nothing when it is 1 or TensorFlow already runs with another split."""
    import tensorflow as tf

    count = cpu_devices()
    if count == 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) == count:
            return
        raise UsageError(f"ZOO_CPU_DEVICES={count} came after TensorFlow started; set it before "
                         "the process imports TensorFlow") from None


def make_strategy(name: str):
    """The `tf.distribute.Strategy` that `--strategy name` asks for: one per process and name,
    since two strategies of a kind in one process would share collective keys (a second
    run's all-reduce then fails with a shape mismatch)."""
    import tensorflow as tf

    check_strategy(name)
    if name == "default":
        return tf.distribute.get_strategy()
    return _strategy(name)


@functools.cache
def _strategy(name: str):
    import tensorflow as tf

    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
        [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        raise UsageError(f"--strategy mirrored found one device ({devices[0]}); it needs two or "
                         "more: GPUs, or ZOO_CPU_DEVICES=N logical CPU devices set before the "
                         "run starts")
    return tf.distribute.MirroredStrategy(devices)


def describe(strategy) -> dict[str, Any]:
    """What `metrics.json` records of the strategy a run trained under."""
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: whatever device TensorFlow places ops on
        devices = []
    return {"name": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
            "devices": devices}


def check_batches(batch_size: int, train_examples: int, endless: bool, replicas: int) -> None:
    """Refuses a global batch that does not split evenly over the replicas, and an epoch
    whose last, partial batch would leave a replica without an example (`endless`: the
    training data is a stream of full batches)."""
    if batch_size % replicas:
        raise UsageError(f"batch_size={batch_size} does not split evenly over {replicas} "
                         f"replicas; use a multiple of {replicas}")
    last = train_examples % batch_size
    if not endless and 0 < last < replicas:
        raise UsageError(f"with batch_size={batch_size} the last training batch of each epoch "
                         f"holds {last} of the {train_examples} examples, fewer than the "
                         f"{replicas} replicas; use another batch_size")


def train_on_replicas(model, data, recipe, callbacks: list, *, evaluation_model,
                      initial_epoch: int = 0, epochs: int | None = None,
                      verbose: int | str = "auto") -> None:
    """Trains `model` (built under a distribution strategy's scope) as Keras' `fit` would:
    epochs of `data.train` in global batches, each step Keras' `train_step` on every replica,
    with the same callbacks. After each epoch `evaluation_model`, a one-device copy, takes
    the weights and scores `data.validation`, giving the `val_` figures.

    `verbose` is accepted for `fit`'s signature; progress is reported by the callbacks."""
    import keras
    import tensorflow as tf

    from zoo.build import copy_weights

    strategy = model.distribute_strategy
    epochs = epochs or recipe.epochs
    steps = data.steps_per_epoch or math.ceil(data.train_examples / recipe.batch_size)
    with strategy.scope():  # variables made inside the traced step could not be mirrored
        model.optimizer.build(model.trainable_variables)

    def split(batch):
        """A global batch as each replica's rows: replica r of n takes the r-th n-th, so a
        text stream's row keeps to one replica (and its carried state) from step to step.
        Every process reads the same batches in the same order as a one-device run does;
        `experimental_distribute_dataset` would reorder a seeded shuffle."""
        def rows(context):
            index, count = context.replica_id_in_sync_group, context.num_replicas_in_sync
            size = tf.shape(tf.nest.flatten(batch)[0])[0]
            start, end = index * size // count, (index + 1) * size // count
            return tf.nest.map_structure(lambda tensor: tensor[start:end], batch)

        return strategy.experimental_distribute_values_from_function(rows)

    @tf.function(reduce_retracing=True)
    def train_step(batch):
        outputs = strategy.run(model.train_step, args=(batch,))
        return {key: strategy.reduce("MEAN", value, axis=None) for key, value in outputs.items()}

    callbacks = keras.callbacks.CallbackList(callbacks, model=model, epochs=epochs, steps=steps,
                                             verbose=0)
    model.stop_training = False
    callbacks.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        # as Keras' `fit`: a pass over a finite dataset each epoch (reshuffled), an endless
        # stream (the language model's) read on from where the last epoch stopped
        if epoch == initial_epoch or not data.steps_per_epoch:
            batches = iter(data.train)
        for step, batch in zip(range(steps), batches):
            callbacks.on_train_batch_begin(step)
            logs = {key: float(value) for key, value in train_step(split(batch)).items()}
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        # the epoch's figures over every replica's examples (metric totals summed)
        logs = {key: float(value) for key, value in model.get_metrics_result().items()}
        callbacks.on_test_begin()
        copy_weights(model, evaluation_model)
        validation = evaluation_model.evaluate(data.validation, return_dict=True, verbose=0)
        callbacks.on_test_end()
        logs.update({f"val_{key}": float(value) for key, value in validation.items()})
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
