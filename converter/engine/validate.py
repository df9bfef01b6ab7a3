"""Model-wide checks before lowering: quantization metadata and shapes every op relies on.

TFLM refuses (or aborts on) models whose quantization is malformed; the generator refuses
them first, naming the tensor, so no nonsense constant (a zero point of -10^12 in an int32
field, a multiplier from an infinite scale) reaches the generated C++.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidModelError
from .tflite_reader import TENSOR_TYPES

TYPE_CODES = {name: code for code, (name, _) in TENSOR_TYPES.items()}

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


def _check_bias_type(model, op) -> None:
    """quantized_bias_type (CONV_2D, FULLY_CONNECTED): unset or the bias tensor's type."""
    try:
        code = op.options.quantized_bias_type
    except AttributeError:          # the op's options have no such field
        return
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    allowed = {0} | ({TYPE_CODES[model.tensors[bias].type]} if bias is not None else set())
    if code not in allowed:
        raise InvalidModelError(f"{op.op} operator {op.index}: quantized_bias_type {code} is "
                                "not the bias tensor's type (TFLM refuses it)")


def _check_fc_bias_scale(model, op) -> None:
    """GetQuantizedConvolutionMultipler (per-tensor FULLY_CONNECTED): the bias scale may
    differ from input x filter scale by at most 2 % of the output scale."""
    if len(op.inputs) < 3 or op.inputs[2] < 0 or min(op.inputs[:2] + op.outputs[:1]) < 0:
        return
    inp, filt, bias = (model.tensors[i] for i in op.inputs[:3])
    out = model.tensors[op.outputs[0]]
    if len(filt.scales) != 1 or not (inp.scales and bias.scales and out.scales):
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
            if t.type in QUANTIZED_TYPES or t.zero_points:
                raise InvalidModelError(f"{where}: {t.type} tensor without quantization "
                                        "scales (TFLM needs affine quantization)")
            continue
        for s in t.scales:
            if not (math.isfinite(s) and s > 0):
                raise InvalidModelError(f"{where}: quantization scale {s} is not a finite "
                                        "number > 0")
        if len(t.zero_points) != len(t.scales):
            raise InvalidModelError(f"{where}: {len(t.scales)} scales but "
                                    f"{len(t.zero_points)} zero points")
        lo, hi = ZERO_POINT_RANGE.get(t.type, (-(1 << 63), (1 << 63) - 1))
        for z in t.zero_points:
            if not lo <= z <= hi:
                raise InvalidModelError(f"{where}: zero point {z} is outside {t.type} "
                                        f"[{lo}, {hi}]")
        if len(t.scales) > 1:
            qd = t.quantized_dimension
            if not 0 <= qd < len(t.shape):
                raise InvalidModelError(f"{where}: quantized_dimension {qd} outside its "
                                        f"{len(t.shape)} dimensions")
            if t.shape[qd] != len(t.scales):
                raise InvalidModelError(f"{where}: {len(t.scales)} per-channel scales for "
                                        f"dimension {qd} of size {t.shape[qd]}")
