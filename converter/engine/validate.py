"""Model-wide checks before lowering: quantization metadata and shapes every op relies on.

TFLM refuses (or aborts on) models whose quantization is malformed; the generator refuses
them first, naming the tensor, so no nonsense constant (a zero point of -10^12 in an int32
field, a multiplier from an infinite scale) reaches the generated C++.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidModelError
from .tflite_reader import TENSOR_TYPES, type_name

TYPE_CODES = {name: code for code, (name, _, _) in TENSOR_TYPES.items()}

# Representable zero points per tensor type.
ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
                    "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
QUANTIZED_TYPES = ("int8", "int16", "uint8")      # TFLM needs affine quantization on these


def _where(model, index: int, users: dict) -> str:
    t = model.tensors[index]
    return f"tensor {index} '{t.name}' ({users[index]})"


def _users(model) -> dict:
    """Tensor index -> 'input 1 of CONV_2D operator 0' (its first use, for messages)."""
    users = {}
    for op in model.operators:
        for role, indices in (("output", op.outputs), ("input", op.inputs)):
            for k, i in enumerate(indices):
                if i >= 0:
                    users.setdefault(i, f"{role} {k} of {op.op} operator {op.index}")
    for i in model.inputs:
        users.setdefault(i, "model input")
    for i in model.outputs:
        users.setdefault(i, "model output")
    return users


def check_model(model) -> None:
    """Raise InvalidModelError naming the first tensor or op with malformed metadata."""
    _check_tensors(model)
    for op in model.operators:
        if op.op == "FULLY_CONNECTED":
            _check_fc_bias_scale(model, op)
        if op.op in ("ADD", "SUB", "MUL"):
            _check_broadcast(model, op)
        if op.op in FILTER_CHANNEL_DIM:
            _check_per_channel_filter(model, op)
        _check_per_tensor_operands(model, op)
        _check_bias_type(model, op)


def _check_broadcast(model, op) -> None:
    """The output of an element-wise op has the broadcast shape of its inputs."""
    if len(op.inputs) != 2 or min(op.inputs + op.outputs[:1]) < 0:
        raise InvalidModelError(f"{op.op} operator {op.index}: needs two inputs and an output")
    a, b = (model.tensors[i].shape for i in op.inputs)
    out = model.tensors[op.outputs[0]].shape
    try:
        want = np.broadcast_shapes(a, b)
    except ValueError:
        raise InvalidModelError(f"{op.op} operator {op.index}: input shapes {list(a)} and "
                                f"{list(b)} do not broadcast") from None
    if tuple(out) != tuple(want):
        raise InvalidModelError(f"{op.op} operator {op.index}: output shape {list(out)}, the "
                                f"inputs broadcast to {list(want)}")


# The output-channel dimension of each op's filter (input 1): TFLM's kernels read
# per-channel scales along it (kConvQuantizedDimension, kDepthwiseConvQuantizedDimension).
FILTER_CHANNEL_DIM = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def _check_per_channel_filter(model, op) -> None:
    """PopulateConvolutionQuantizationParams: a filter with several scales has one per
    output channel, and its quantized_dimension names a dimension of that size. A filter
    with one scale is per-tensor: its quantized_dimension is never read (converters leave
    stale values there), nor is any other tensor's (biases, activations)."""
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return
    f = model.tensors[op.inputs[1]]
    if len(f.scales) <= 1:
        return
    where = f"{op.op} operator {op.index}: filter tensor {f.index} '{f.name}'"
    qd, dim = f.quantized_dimension, FILTER_CHANNEL_DIM[op.op]
    if not 0 <= qd < len(f.shape):
        raise InvalidModelError(f"{where}: quantized_dimension {qd} outside its "
                                f"{len(f.shape)} dimensions ({len(f.scales)} per-channel scales)")
    if dim >= len(f.shape) or f.shape[dim] != len(f.scales) or f.shape[qd] != len(f.scales):
        raise InvalidModelError(f"{where}: {len(f.scales)} per-channel scales, but shape "
                                f"{list(f.shape)} has {f.shape[dim] if dim < len(f.shape) else '?'} "
                                f"output channels and {f.shape[qd]} along quantized_dimension {qd}")


def _check_per_tensor_operands(model, op) -> None:
    """Only filters and biases (inputs 1 and 2 of CONV_2D, DEPTHWISE_CONV_2D,
    FULLY_CONNECTED) may carry several scales; every other operand is read with one (TFLM's
    QUANTIZE, for one, refuses more; a converter writes them on weights only)."""
    for role, indices in (("input", op.inputs), ("output", op.outputs)):
        for k, i in enumerate(indices):
            if i < 0 or len(model.tensors[i].scales) <= 1:
                continue
            if role == "input" and k in (1, 2) and op.op in FILTER_CHANNEL_DIM:
                continue
            t = model.tensors[i]
            raise InvalidModelError(f"{op.op} operator {op.index}: {role} {k} (tensor {i} "
                                    f"'{t.name}') has {len(t.scales)} scales; {op.op} reads "
                                    "one (per-tensor quantization)")


def _check_bias_type(model, op) -> None:
    """quantized_bias_type (CONV_2D, FULLY_CONNECTED): unset or the bias tensor's type."""
    try:
        code = op.options.quantized_bias_type
    except AttributeError:          # the op's options have no such field
        return
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    allowed = {0} | ({TYPE_CODES[model.tensors[bias].type]} if bias is not None else set())
    if code not in allowed:
        raise InvalidModelError(f"{op.op} operator {op.index}: quantized_bias_type "
                                f"{type_name(code)} is not the bias tensor's type (TFLM refuses it)")


def _check_fc_bias_scale(model, op) -> None:
    """GetQuantizedConvolutionMultipler (per-tensor FULLY_CONNECTED): the bias scale may
    differ from input x filter scale by at most 2 % of the output scale. A bias without
    quantization has scale 0 there, so the check still applies."""
    if len(op.inputs) < 3 or op.inputs[2] < 0 or min(op.inputs[:2] + op.outputs[:1]) < 0:
        return
    inp, filt, bias = (model.tensors[i] for i in op.inputs[:3])
    out = model.tensors[op.outputs[0]]
    if len(filt.scales) != 1 or not (inp.scales and out.scales):
        return
    diff = abs(inp.scale * filt.scale - bias.scale)
    if diff / out.scale > 0.02:
        raise InvalidModelError(f"FULLY_CONNECTED operator {op.index}: bias scale {bias.scale} "
                                f"differs from input x filter scale {inp.scale * filt.scale} by "
                                f"more than 2 % of the output scale (TFLM refuses it)")


def _check_tensors(model) -> None:
    users = _users(model)
    for index in sorted(users):
        t = model.tensors[index]
        where = _where(model, index, users)
        if any(d == 0 for d in t.shape):
            raise InvalidModelError(f"{where}: shape {list(t.shape)} has no elements "
                                    "(TFLM treats it as dynamic)")
        if not t.scales:
            if t.type in QUANTIZED_TYPES:
                raise InvalidModelError(f"{where}: {t.type.upper()} tensor without quantization "
                                        "(scales and zero points; TFLM needs affine quantization)")
            continue
        for s in t.scales:
            if not (math.isfinite(s) and s > 0):
                raise InvalidModelError(f"{where}: quantization scale {s} is not a finite "
                                        "number > 0")
        lo, hi = ZERO_POINT_RANGE.get(t.type, (-(1 << 63), (1 << 63) - 1))
        for z in t.zero_points:
            if not lo <= z <= hi:
                raise InvalidModelError(f"{where}: zero point {z} is outside {t.type} "
                                        f"[{lo}, {hi}]")
