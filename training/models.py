"""Keras models: the Teacher (Transformer encoder over time) and the tiny int8 Student.

TensorFlow/Keras are imported inside functions so importing this module is cheap.
Teacher: input [context, 7 + 2 + 1] (bedside features, privileged lactate features and
the "admitted" channel), 10-minute patches -> tokens, learned positions, pre-norm
Transformer blocks, attention pooling whose weights over time are the "attention" used
for attention transfer. Tokens before admission (zero padding) are masked out of every
attention and of the pooling.
Student: Conv1D/AveragePooling1D/GlobalAveragePooling1D/Dense only (converts to
CONV_2D, AVERAGE_POOL_2D, MEAN, FULLY_CONNECTED, LOGISTIC and reshapes in TFLite int8).
Its 12-step feature map (60 min / 5) lines up with the Teacher's last 6 tokens (pairs
of Student steps are averaged for attention transfer).
"""
from __future__ import annotations

PATCH = 5                  # minutes per Student feature-map step (60 -> 12 steps)

TEACHER_DEFAULT = {"context": 180, "patch": 10, "d_model": 64, "heads": 4, "layers": 4,
                   "ff": 256, "dropout": 0.1}
STUDENT_DEFAULT = {"length": 60, "filters": [12, 24, 24], "dense": 16}


def _custom_layers():
    """Registered layers (cached: Keras registers each class name once)."""
    global _LAYERS
    try:
        return _LAYERS
    except NameError:
        pass
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="bedside")
    class PositionEmbedding(keras.layers.Layer):
        def build(self, input_shape):
            self.pos = self.add_weight(shape=(input_shape[1], input_shape[2]),
                                       initializer=keras.initializers.RandomNormal(stddev=0.02),
                                       name="pos")

        def call(self, x):
            return x + self.pos[None]

    @keras.saving.register_keras_serializable(package="bedside")
    class AttentionPool(keras.layers.Layer):
        """softmax(w . h_t) over the valid tokens; returns the pooled vector and the
        weights (0 on masked tokens)."""
        def build(self, input_shape):
            self.score = keras.layers.Dense(1, name="score")
            self.score.build(input_shape[0])

        def call(self, inputs):
            x, valid = inputs
            s = ops.squeeze(self.score(x), -1) + (1.0 - valid) * -1e9
            a = ops.softmax(s, axis=-1)
            return ops.sum(x * a[..., None], axis=1), a

        def compute_output_shape(self, input_shape):
            x = input_shape[0]
            return (x[0], x[2]), (x[0], x[1])

    @keras.saving.register_keras_serializable(package="bedside")
    class PatchTokens(keras.layers.Layer):
        """[B, context, F + 1] -> patches [B, T, patch * F] of the features and the
        token mask [B, T] (1 when the patch's last sample is after admission), and the
        key mask [B, T, T] for the self-attention."""
        def __init__(self, patch: int, **kw):
            super().__init__(**kw)
            self.patch = patch

        def get_config(self):
            return {**super().get_config(), "patch": self.patch}

        def call(self, x):
            t, f = x.shape[1] // self.patch, x.shape[2] - 1
            feats = ops.reshape(x[..., :f], (-1, t, self.patch * f))
            valid = ops.cast(x[:, self.patch - 1::self.patch, f] > 0, "float32")
            keys = ops.repeat(ops.expand_dims(valid, 1), t, axis=1) > 0.5
            return feats, valid, keys

        def compute_output_shape(self, input_shape):
            t, f = input_shape[1] // self.patch, input_shape[2] - 1
            b = input_shape[0]
            return (b, t, self.patch * f), (b, t), (b, t, t)

    _LAYERS = {"PositionEmbedding": PositionEmbedding, "AttentionPool": AttentionPool,
               "PatchTokens": PatchTokens}
    return _LAYERS


def build_teacher(n_features: int, context: int = 180, patch: int = 10, d_model: int = 64,
                  heads: int = 4, layers: int = 4, ff: int = 256, dropout: float = 0.1):
    """Returns (train_model: x -> logit, full_model: x -> [prob, attention over tokens]).
    `n_features` counts the input channels including the last, "admitted" one."""
    import keras
    from keras import layers as L
    cl = _custom_layers()
    if context % patch:
        raise ValueError(f"teacher context {context} must be a multiple of patch {patch}")
    inp = keras.Input((context, n_features), name="window")
    x, valid, keys = cl["PatchTokens"](patch, name="tokens")(inp)
    x = L.Dense(d_model, name="embed")(x)
    x = cl["PositionEmbedding"](name="positions")(x)
    for i in range(layers):
        h = L.LayerNormalization(epsilon=1e-5, name=f"ln_a{i}")(x)
        h = L.MultiHeadAttention(heads, d_model // heads, dropout=dropout,
                                 name=f"mha{i}")(h, h, attention_mask=keys)
        x = L.Add()([x, L.Dropout(dropout)(h)])
        h = L.LayerNormalization(epsilon=1e-5, name=f"ln_f{i}")(x)
        h = L.Dense(ff, activation="gelu", name=f"ff_in{i}")(h)
        h = L.Dense(d_model, name=f"ff_out{i}")(L.Dropout(dropout)(h))
        x = L.Add()([x, h])
    x = L.LayerNormalization(epsilon=1e-5, name="ln_out")(x)
    pooled, att = cl["AttentionPool"](name="attention_pool")([x, valid])
    logit = L.Dense(1, name="logit")(pooled)
    prob = L.Activation("sigmoid", name="prob")(logit)
    return (keras.Model(inp, logit, name="teacher_train"),
            keras.Model(inp, [prob, att], name="teacher"))


def build_student(n_signals: int = 7, length: int = 60, filters=(12, 24, 24), dense: int = 16):
    """Returns (train_model: x -> [logit, feature map [12, C]], inference: x -> prob)."""
    import keras
    from keras import layers as L
    inp = keras.Input((length, n_signals), name="window")
    x = L.Conv1D(filters[0], 5, padding="same", activation="relu", name="conv0")(inp)
    x = L.AveragePooling1D(PATCH, name="pool")(x)                  # 60 -> 12 steps
    for i, f in enumerate(filters[1:], 1):
        x = L.Conv1D(f, 3, padding="same", activation="relu", name=f"conv{i}")(x)
    fmap = x
    g = L.GlobalAveragePooling1D(name="gap")(x)
    g = L.Dense(dense, activation="relu", name="fc")(g)
    logit = L.Dense(1, name="logit")(g)
    prob = L.Activation("sigmoid", name="prob")(logit)
    return (keras.Model(inp, [logit, fmap], name="student_train"),
            keras.Model(inp, prob, name="student"))


def load(path):
    """Load a saved model (registers the custom layers first)."""
    import keras
    _custom_layers()
    return keras.models.load_model(path, compile=False)


def count_macs(model) -> int:
    """Multiply-accumulates of one inference (conv, dense, attention), batch 1."""
    macs = 0
    for layer in model.layers:
        cls = type(layer).__name__
        if cls in ("Conv1D", "DepthwiseConv1D"):
            out_len, out_ch = layer.output.shape[1], layer.output.shape[-1]
            k = layer.kernel.shape
            per = k[0] * (k[1] if cls == "Conv1D" else 1)
            macs += out_len * out_ch * per
        elif cls == "Dense":
            in_dim, out_dim = layer.kernel.shape
            tokens = 1
            for d in layer.output.shape[1:-1]:
                tokens *= d
            macs += tokens * in_dim * out_dim
        elif cls == "MultiHeadAttention":
            t, d = layer.output.shape[1], layer.output.shape[2]
            inner = 1
            for n in layer.query_dense.kernel.shape[1:]:
                inner *= n
            macs += t * d * inner * 3 + t * inner * d + 2 * t * t * inner
        elif cls == "AttentionPool":
            t, d = layer.input[0].shape[1], layer.input[0].shape[2]
            macs += 2 * t * d
    return int(macs)


def int8_weight_bytes(model) -> int:
    """Bytes of the model's constants after int8 conversion: int8 kernels, int32 biases."""
    total = 0
    for w in model.weights:
        n = 1
        for d in w.shape:
            n *= d
        total += n * (4 if len(w.shape) == 1 else 1)
    return int(total)


def max_activation_bytes(model) -> int:
    """Largest pair of consecutive int8 activations (input + output of one layer)."""
    worst = 0
    for layer in model.layers:
        try:
            ins = layer.input if isinstance(layer.input, list) else [layer.input]
            n_in = sum(_numel(t.shape) for t in ins)
            n_out = _numel(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        worst = max(worst, n_in + n_out)
    return int(worst)


def _numel(shape) -> int:
    n = 1
    for d in shape[1:]:
        n *= int(d)
    return n
