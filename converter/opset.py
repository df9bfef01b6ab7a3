"""Which TFLite ops the kit can run: TFLM's builtin set and the compiled backend's set.

TFLM_OPS maps each builtin op TFLM's `MicroMutableOpResolver` knows (the subset a small
int8 model can use) to the resolver method the generated `model_ops.h` calls.
"""
from __future__ import annotations

import re

from .engine.tflite_reader import Model, Operator

TFLM_OPS: dict[str, str] = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin", "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul", "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "CAST": "AddCast", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "CUMSUM": "AddCumSum", "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize",
    "ELU": "AddElu", "EQUAL": "AddEqual", "EXP": "AddExp", "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill", "FLOOR": "AddFloor", "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather", "GATHER_ND": "AddGatherNd", "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual", "HARD_SWISH": "AddHardSwish",
    "L2_NORMALIZATION": "AddL2Normalization", "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess", "LESS_EQUAL": "AddLessEqual", "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGISTIC": "AddLogistic", "MAX_POOL_2D": "AddMaxPool2D", "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean", "MINIMUM": "AddMinimum", "MUL": "AddMul", "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual", "PACK": "AddPack", "PAD": "AddPad", "PADV2": "AddPadV2",
    "PRELU": "AddPrelu", "QUANTIZE": "AddQuantize", "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu", "RELU6": "AddRelu6", "RESHAPE": "AddReshape",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "RSQRT": "AddRsqrt",
    "SHAPE": "AddShape", "SOFTMAX": "AddSoftmax", "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference", "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub", "SUM": "AddSum", "SVDF": "AddSvdf",
    "TANH": "AddTanh", "TRANSPOSE": "AddTranspose", "TRANSPOSE_CONV": "AddTransposeConv",
    "UNPACK": "AddUnpack", "ZEROS_LIKE": "AddZerosLike",
}

class OpSetError(ValueError):
    """The model uses an op a backend cannot run."""


def keras_layer_for(tensor_name: str, layer_names: list[str]) -> str | None:
    """Best guess of the Keras layer that produced a TFLite tensor.

    The converter names tensors after TF name scopes, fused names joined by ';' with the
    op's own name first, e.g. 'functional_1/max_1/Maximum;functional_1/conv1_1/Squeeze'.
    Keras 3 scopes a layer as '<name>' or '<name>_<k>'; the innermost matching scope of
    the first name that has one wins.
    """
    for name in tensor_name.split(";"):
        found = None
        for part in re.split(r"[/:]", name):
            if part in layer_names:
                found = part
                continue
            scoped = [n for n in layer_names if re.fullmatch(re.escape(n) + r"_\d+", part)]
            if scoped:
                found = max(scoped, key=len)
        if found is not None:
            return found
    return None


def describe(op: Operator, model: Model, layer_names: list[str]) -> str:
    names = lambda indices: [model.tensors[i].name for i in indices if i >= 0]   # noqa: E731
    outputs = names(op.outputs)
    tensor = outputs[0] if outputs else "?"
    layer = keras_layer_for(tensor, layer_names) if layer_names else None
    where = f"Keras layer '{layer}'" if layer else "Keras layer unknown"
    if layer is None and layer_names:
        # e.g. the final activation's output is named after the graph's return value;
        # the layer is then the one its input came from
        for name in names(op.inputs):
            layer = keras_layer_for(name, layer_names)
            if layer:
                where = f"Keras layer '{layer}' (from the op's input)"
                break
    return (f"op {op.op} (version {op.version}, operator #{op.index}, output tensor "
            f"'{tensor.split(';')[0]}', {where})")


def check(model: Model, layer_names: list[str], need_compiled: bool) -> list[str]:
    """Raise OpSetError for ops TFLM cannot run (and, if need_compiled, the compiled
    backend). Return human-readable notes about ops only the compiled backend lacks."""
    from .engine import SUPPORTED_OPS
    errors, notes = [], []
    for op in model.operators:
        if op.op not in TFLM_OPS:
            errors.append(f"{describe(op, model, layer_names)} is not supported by TFLite Micro")
        elif op.op not in SUPPORTED_OPS:
            msg = f"{describe(op, model, layer_names)} is not supported by the compiled backend"
            (errors if need_compiled else notes).append(msg)
    if errors:
        hint = ("" if not need_compiled or all("TFLite Micro" in e for e in errors) else
                "\n  (use --backend tflm to convert for the TFLM backend only)")
        raise OpSetError("unsupported ops:\n  " + "\n  ".join(dict.fromkeys(errors)) + hint)
    return list(dict.fromkeys(notes))
