"""A small, dependency-free reader of the TFLite flatbuffer (only what the engine needs).

Reads subgraph 0: tensors (shape, type, buffer data, quantization), operators (opcode,
inputs, outputs, builtin options as a raw table), model inputs/outputs. Everything is
bounds-checked; a corrupt file raises `TFLiteFormatError` naming the field.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

# BuiltinOperator codes (tensorflow/lite/schema/schema.fbs), the ones we name.
BUILTIN_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D", 5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 8: "FLOOR",
    9: "FULLY_CONNECTED", 11: "L2_NORMALIZATION", 12: "L2_POOL_2D", 14: "LOGISTIC",
    16: "LSTM", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 20: "RELU_N1_TO_1",
    21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR", 25: "SOFTMAX", 27: "SVDF",
    28: "TANH", 32: "CUSTOM", 34: "PAD", 36: "GATHER", 37: "BATCH_TO_SPACE_ND", 38: "SPACE_TO_BATCH_ND", 39: "TRANSPOSE", 40: "MEAN",
    41: "SUB", 42: "DIV", 43: "SQUEEZE", 44: "UNIDIRECTIONAL_SEQUENCE_LSTM",
    45: "STRIDED_SLICE", 47: "EXP", 49: "SPLIT", 50: "LOG_SOFTMAX", 53: "CAST",
    54: "PRELU", 55: "MAXIMUM", 56: "ARG_MAX", 57: "MINIMUM", 60: "PADV2",
    65: "SLICE", 67: "TRANSPOSE_CONV", 70: "EXPAND_DIMS", 74: "SUM", 77: "SHAPE", 82: "REDUCE_MAX",
    83: "PACK", 88: "UNPACK", 97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU",
    102: "SPLIT_V", 114: "QUANTIZE", 117: "HARD_SWISH", 126: "BATCH_MATMUL",
}

# TensorType -> (name, numpy dtype)
TENSOR_TYPES = {
    0: ("float32", np.float32), 2: ("int32", np.int32), 3: ("uint8", np.uint8),
    4: ("int64", np.int64), 6: ("bool", np.bool_), 7: ("int16", np.int16),
    9: ("int8", np.int8), 1: ("float16", np.float16),
}


class TFLiteFormatError(ValueError):
    """The file is not a well-formed TFLite flatbuffer (the message names the field)."""


class _Buf:
    """Bounds-checked little-endian access to the flatbuffer bytes."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, fmt: str, pos: int, what: str):
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.data):
            raise TFLiteFormatError(f"{what}: offset {pos} outside the file ({len(self.data)} bytes)")
        return struct.unpack_from("<" + fmt, self.data, pos)[0]


class Table:
    """One flatbuffer table: field access by schema index with defaults."""

    def __init__(self, buf: _Buf, pos: int, what: str):
        self.buf, self.pos, self.what = buf, pos, what
        vt = pos - buf.read("i", pos, f"{what} vtable offset")
        self.vt_size = buf.read("H", vt, f"{what} vtable size")
        if self.vt_size < 4 or self.vt_size % 2:
            raise TFLiteFormatError(f"{what}: bad vtable size {self.vt_size}")
        self.vt = vt

    def _field_pos(self, index: int) -> int | None:
        slot = 4 + 2 * index
        if slot >= self.vt_size:
            return None
        off = self.buf.read("H", self.vt + slot, f"{self.what} field {index}")
        return self.pos + off if off else None

    def scalar(self, index: int, fmt: str, default, name: str = ""):
        p = self._field_pos(index)
        return default if p is None else self.buf.read(fmt, p, f"{self.what}.{name or index}")

    def _ref(self, index: int, name: str) -> int | None:
        p = self._field_pos(index)
        if p is None:
            return None
        return p + self.buf.read("I", p, f"{self.what}.{name}")

    def table(self, index: int, name: str) -> "Table | None":
        p = self._ref(index, name)
        return None if p is None else Table(self.buf, p, f"{self.what}.{name}")

    def vector_raw(self, index: int, name: str) -> tuple[int, int] | None:
        p = self._ref(index, name)
        if p is None:
            return None
        n = self.buf.read("I", p, f"{self.what}.{name} length")
        return p + 4, n

    def vector(self, index: int, fmt: str, name: str) -> list:
        v = self.vector_raw(index, name)
        if v is None:
            return []
        start, n = v
        size = struct.calcsize(fmt)
        if start + n * size > len(self.buf.data):
            raise TFLiteFormatError(f"{self.what}.{name}: vector of {n} runs past the end of the file")
        return list(struct.unpack_from(f"<{n}{fmt}", self.buf.data, start))

    def tables(self, index: int, name: str) -> list["Table"]:
        v = self.vector_raw(index, name)
        if v is None:
            return []
        start, n = v
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(Table(self.buf, p + self.buf.read("I", p, f"{self.what}.{name}[{i}]"),
                             f"{self.what}.{name}[{i}]"))
        return out

    def string(self, index: int, name: str) -> str:
        v = self.vector_raw(index, name)
        if v is None:
            return ""
        start, n = v
        if start + n > len(self.buf.data):
            raise TFLiteFormatError(f"{self.what}.{name}: string runs past the end of the file")
        return self.buf.data[start:start + n].decode("utf-8", "replace")


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type: str
    data: np.ndarray | None            # constant data (buffer contents), else None
    scales: list[float] = field(default_factory=list)
    zero_points: list[int] = field(default_factory=list)
    quantized_dimension: int = 0

    @property
    def scale(self) -> float:
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        return self.zero_points[0] if self.zero_points else 0

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(TENSOR_TYPES_BY_NAME[self.type]).itemsize


TENSOR_TYPES_BY_NAME = {name: dt for name, dt in TENSOR_TYPES.values()}


@dataclass
class Operator:
    index: int
    op: str                      # builtin name, e.g. "CONV_2D"
    inputs: list[int]
    outputs: list[int]
    options: Table | None        # builtin options table (schema per op)
    version: int = 1


@dataclass
class Model:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]


def _opcode_name(code: Table, i: int) -> str:
    deprecated = code.scalar(0, "b", 0, "deprecated_builtin_code")
    builtin = code.scalar(3, "i", 0, "builtin_code")
    value = max(int(deprecated), int(builtin))   # schema rule: the larger one is real
    if value == 32:
        return "CUSTOM:" + code.string(1, "custom_code")
    return BUILTIN_NAMES.get(value, f"BUILTIN_{value}")


def read_model(data: bytes) -> Model:
    """Parse a .tflite flatbuffer (subgraph 0)."""
    if len(data) < 8:
        raise TFLiteFormatError(f"file too short ({len(data)} bytes) for a TFLite model")
    if data[4:8] != b"TFL3":
        raise TFLiteFormatError(f"file identifier is {data[4:8]!r}, expected b'TFL3' (not a .tflite file)")
    buf = _Buf(data)
    root = Table(buf, buf.read("I", 0, "root offset"), "Model")
    codes = root.tables(1, "operator_codes")
    subgraphs = root.tables(2, "subgraphs")
    if not subgraphs:
        raise TFLiteFormatError("Model.subgraphs is empty")
    buffers = root.tables(4, "buffers")
    sg = subgraphs[0]

    tensors = []
    for i, t in enumerate(sg.tables(0, "tensors")):
        ttype = t.scalar(1, "b", 0, "type")
        if ttype not in TENSOR_TYPES:
            raise TFLiteFormatError(f"tensor {i}: unsupported tensor type code {ttype}")
        tname, dtype = TENSOR_TYPES[ttype]
        shape = tuple(int(d) for d in t.vector(0, "i", "shape"))
        if any(d < 0 for d in shape):
            raise TFLiteFormatError(f"tensor {i}: dynamic shape {shape} (the engine needs static shapes)")
        bidx = t.scalar(2, "I", 0, "buffer")
        arr = None
        if bidx:
            if bidx >= len(buffers):
                raise TFLiteFormatError(f"tensor {i}: buffer index {bidx} >= {len(buffers)} buffers")
            b = buffers[bidx]
            raw = b.vector_raw(0, "data")
            start, n = raw if raw else (0, 0)
            off = b.scalar(1, "Q", 0, "offset")
            if off > 1:                  # large models keep data after the flatbuffer
                start, n = off, b.scalar(2, "Q", 0, "size")
            if n:
                itemsize = np.dtype(dtype).itemsize
                count = int(np.prod(shape, dtype=np.int64)) if shape else 1
                if n != count * itemsize or start + n > len(data):
                    raise TFLiteFormatError(
                        f"tensor {i} ({t.string(3, 'name')}): buffer {bidx} holds {n} bytes, "
                        f"shape {shape} of {tname} needs {count * itemsize}")
                arr = np.frombuffer(data, dtype=dtype, count=count, offset=start).reshape(shape).copy()
        q = t.table(4, "quantization")
        scales, zps, qdim = [], [], 0
        if q is not None:
            scales = [float(s) for s in q.vector(2, "f", "scale")]
            zps = [int(z) for z in q.vector(3, "q", "zero_point")]
            qdim = q.scalar(6, "i", 0, "quantized_dimension")
        tensors.append(Tensor(i, t.string(3, "name"), shape, tname, arr, scales, zps, qdim))

    ops = []
    for i, o in enumerate(sg.tables(3, "operators")):
        ci = o.scalar(0, "I", 0, "opcode_index")
        if ci >= len(codes):
            raise TFLiteFormatError(f"operator {i}: opcode_index {ci} >= {len(codes)} operator codes")
        ins = o.vector(1, "i", "inputs")
        outs = o.vector(2, "i", "outputs")
        for t in ins + outs:
            if t >= len(tensors) or t < -1:
                raise TFLiteFormatError(f"operator {i}: tensor index {t} out of range")
        ops.append(Operator(i, _opcode_name(codes[ci], ci), ins, outs, o.table(4, "builtin_options"),
                            codes[ci].scalar(2, "i", 1, "version")))
    inputs = sg.vector(1, "i", "inputs")
    outputs = sg.vector(2, "i", "outputs")
    for what, idx in (("inputs", inputs), ("outputs", outputs)):
        for t in idx:
            if not 0 <= t < len(tensors):
                raise TFLiteFormatError(f"SubGraph.{what}: tensor index {t} out of range")
    return Model(tensors, ops, inputs, outputs)
