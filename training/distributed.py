"""A training loop for `--strategy multiworker`, which Keras 3's `Model.fit` cannot run.

With `MultiWorkerMirroredStrategy` and two or more workers, Keras 3 (3.15, TF backend)
fails inside `fit`: its symbolic build reduces a PerReplica batch eagerly and its log
reduction asks for axis 0 of scalars (keras-team/keras#20585). This loop does what the
training stages need from `fit`: epochs over a tf.data dataset of (x, y) global batches,
sharded between the workers; the compiled optimizer (which all-reduces the gradients);
the callbacks' train/epoch/batch hooks; the mean loss per epoch. Every worker applies the
same all-reduced gradients, so every worker ends with the same weights.
"""
from __future__ import annotations


def fit(model, loss, dataset, epochs: int, strategy, callbacks=()) -> dict:
    """Train `model` (built and compiled in `strategy.scope()`) with `loss` (a Keras loss
    with reduction=None); returns {"loss": [mean loss per epoch]} like History.history."""
    import tensorflow as tf
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = strategy.experimental_distribute_dataset(dataset.with_options(options))
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)

    def replica_step(x, y):
        ctx = tf.distribute.get_replica_context()
        n = ctx.all_reduce("sum", tf.cast(tf.shape(y)[0], tf.float32))   # the global batch
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(loss(y, model(x, training=True)))
            scaled = total / tf.maximum(n, 1.0)
        grads = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return total, tf.cast(tf.shape(y)[0], tf.float32)

    @tf.function
    def train_step(batch):
        total, n = strategy.run(replica_step, args=batch)
        return strategy.reduce("SUM", total, axis=None), strategy.reduce("SUM", n, axis=None)

    history = {"loss": []}
    for cb in callbacks:
        cb.on_train_begin()
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        loss_sum = count = 0.0
        for step, batch in enumerate(batches):
            total, n = train_step(batch)
            loss_sum, count = loss_sum + float(total), count + float(n)
            for cb in callbacks:
                cb.on_train_batch_end(step)
        history["loss"].append(loss_sum / max(count, 1.0))
        for cb in callbacks:
            cb.on_epoch_end(epoch, {"loss": history["loss"][-1]})
    for cb in callbacks:
        cb.on_train_end()
    return history
