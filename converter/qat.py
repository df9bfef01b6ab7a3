"""Quantization-aware fine-tuning of the Student: weight fake-quantization with a
straight-through estimator, written for Keras 3 (tensorflow-model-optimization needs Keras 2).

Each step runs the model with its conv/dense kernels replaced by their per-channel
symmetric int8 fake-quantized values (what TFLite's per-channel quantization will store),
and applies the gradient to the float "latent" kernels. Activations are not fake-quantized
(their int8 ranges come from PTQ calibration afterwards). BatchNorm and dropout run in
inference mode, so only weights move. Seeded: same inputs, same fine-tuned weights.
"""
from __future__ import annotations

import numpy as np

from bedside.contract.preprocess import to_model_input

EPOCHS = 3
BATCH = 256
LEARNING_RATE = 2e-4


def _channel_axes(layer, kernel) -> tuple[int, ...]:
    """Axes reduced for one scale per output channel, as TFLite quantizes them."""
    rank = len(kernel.shape)
    if "Depthwise" in type(layer).__name__:
        return (0,) if rank == 3 else (0, 1)     # [k, in, mult] / [kh, kw, in, mult]
    return tuple(range(rank - 1))                # [..., out]


def _fake_quant(w, axes):
    import tensorflow as tf
    scale = tf.reduce_max(tf.abs(w), axis=axes, keepdims=True) / 127.0
    scale = tf.where(scale > 0, scale, tf.ones_like(scale))
    return tf.clip_by_value(tf.round(w / scale), -127, 127) * scale


def finetune(model, x_q: np.ndarray, labels: np.ndarray, seed: int):
    """A fine-tuned copy of `model` whose kernels are exactly int8-representable."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    quantized = []                    # (variable, latent float copy, reduction axes)
    for layer in clone.layers:
        for var in layer.trainable_weights:
            if var.path.endswith("kernel") and len(var.shape) >= 2:
                quantized.append((var, tf.Variable(var.value), _channel_axes(layer, var)))
    opt = keras.optimizers.Adam(LEARNING_RATE)
    loss_fn = keras.losses.BinaryCrossentropy()
    trainable = clone.trainable_variables
    x = to_model_input(x_q)
    y = np.asarray(labels, dtype=np.float32).reshape(-1, 1)
    rng = np.random.default_rng(seed)

    @tf.function
    def step(xb, yb):
        for var, latent, axes in quantized:
            var.assign(_fake_quant(latent, axes))
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, clone(xb, training=False))
        before = [var.value for var, _, _ in quantized]
        opt.apply_gradients(zip(tape.gradient(loss, trainable), trainable))
        for (var, latent, _), b in zip(quantized, before):
            latent.assign_add(var.value - b)     # straight-through: move the float kernel
        return loss

    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for lo in range(0, len(order), BATCH):
            idx = order[lo:lo + BATCH]
            step(tf.constant(x[idx]), tf.constant(y[idx]))
    for var, latent, axes in quantized:
        var.assign(_fake_quant(latent, axes))
    return clone
