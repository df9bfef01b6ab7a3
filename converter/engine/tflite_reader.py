"""The kit's one .tflite reader: what the converter, the opset checks and the engine need.

Reads subgraph 0: tensors (shape, type, buffer data, quantization), operators (opcode,
version, inputs, outputs, builtin options by schema field name), model inputs/outputs.
The structure is walked with bounds-checked `struct` reads; builtin options are read
through the schema bindings of the `tflite-micro` wheel (`op.options.stride_w`) on a
table whose position was checked first. A corrupt file raises `TFLiteFormatError` naming
the field.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field

import numpy as np

# TensorType code -> (name, numpy dtype or None, bits per element): every type the
# `tflite-micro` wheel allocates (an unused tensor of any of these loads). Names are the
# schema's in lower case; messages print them upper case (UINT32, as TensorType spells it).
TENSOR_TYPES = {
    0: ("float32", np.float32, 32), 1: ("float16", np.float16, 16), 2: ("int32", np.int32, 32),
    3: ("uint8", np.uint8, 8), 4: ("int64", np.int64, 64), 6: ("bool", np.bool_, 8),
    7: ("int16", np.int16, 16), 8: ("complex64", np.complex64, 64), 9: ("int8", np.int8, 8),
    10: ("float64", np.float64, 64), 11: ("complex128", np.complex128, 128),
    12: ("uint64", np.uint64, 64), 13: ("resource", None, 0), 15: ("uint32", np.uint32, 32),
    16: ("uint16", np.uint16, 16), 17: ("int4", None, 4), 18: ("bfloat16", None, 16),
    21: ("float8_e4m3fn", None, 8), 22: ("float8_e5m2", None, 8),
}
# Types the schema names but TFLM cannot allocate (AllocateTensors fails on the model).
TFLM_REFUSES_TYPES = {5: "string", 14: "variant", 19: "int2", 20: "uint4"}


def type_name(code: int) -> str:
    """TensorType code -> schema name (UINT32), or 'type code N' for a code it lacks."""
    for table in (TENSOR_TYPES, TFLM_REFUSES_TYPES):
        if code in table:
            entry = table[code]
            return (entry[0] if isinstance(entry, tuple) else entry).upper()
    return f"type code {code}"


# The builtin options table each op the kit reads options of must carry (schema names).
OPTIONS_OF = {
    "ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "CONCATENATION": "ConcatenationOptions", "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions", "FULLY_CONNECTED": "FullyConnectedOptions",
    "LEAKY_RELU": "LeakyReluOptions", "MEAN": "ReducerOptions", "PACK": "PackOptions",
    "SOFTMAX": "SoftmaxOptions", "STRIDED_SLICE": "StridedSliceOptions",
}


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    return schema_py_generated


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


class Options:
    """An operator's builtin options by schema field name in snake_case, e.g.
    `op.options.fused_activation_function`; a field absent from the file reads as the
    schema's default. Asking for a field the op's options do not have is AttributeError."""

    def __init__(self, kind: str | None, table: "Table | None", what: str):
        self._kind, self._what = kind, what
        s = _schema()
        self._defaults = getattr(s, kind + "T")() if kind else None
        self._reader = None
        if kind and table is not None:
            self._reader = getattr(s, kind)()
            self._reader.Init(table.buf.data, table.pos)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        camel = "".join(part.capitalize() for part in name.split("_"))
        field_name = camel[:1].lower() + camel[1:]
        if self._defaults is None or not hasattr(self._defaults, field_name):
            raise AttributeError(f"{self._what}: {self._kind or 'no builtin options'} has no "
                                 f"field {name}")
        if self._reader is None:
            return getattr(self._defaults, field_name)
        try:
            return getattr(self._reader, camel)()
        except (struct.error, IndexError, ValueError, TypeError) as e:
            raise TFLiteFormatError(f"{self._what}.{name}: unreadable ({e})") from e


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
        return (int(np.prod(self.shape, dtype=np.int64)) * TYPE_BITS[self.type] + 7) // 8

    def as_dict(self) -> dict:
        """The manifest's description of a model input/output tensor."""
        return {"shape": list(self.shape), "dtype": self.type,
                "scale": self.scales[0] if self.scales else None,
                "zero_point": (self.zero_points[0] if self.zero_points else 0) if self.scales else None,
                "bytes": self.nbytes}


TENSOR_TYPES_BY_NAME = {name: dt for name, dt, _ in TENSOR_TYPES.values()}
TYPE_BITS = {name: bits for name, _, bits in TENSOR_TYPES.values()}


@dataclass
class Operator:
    index: int
    op: str                      # builtin name, e.g. "CONV_2D"
    inputs: list[int]
    outputs: list[int]
    options: Options             # builtin options by name: op.options.fused_activation_function
    version: int = 1


@dataclass
class Model:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    subgraph_count: int = 1

    @property
    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    @property
    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    def op_versions(self) -> list[dict]:
        """Distinct ops with their highest version, sorted by name (deterministic)."""
        best: dict[str, int] = {}
        for op in self.operators:
            best[op.op] = max(best.get(op.op, 0), op.version)
        return [{"name": n, "version": v} for n, v in sorted(best.items())]


@functools.lru_cache(maxsize=None)
def _enum_names(enum) -> dict[int, str]:
    """Value -> name of a schema enum class (BuiltinOperator, BuiltinOptions)."""
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


def _options(o: Table, i: int, name: str) -> Options:
    """Operator i's builtin options, checked against the type its op must carry."""
    what = f"operator {i} ({name}).builtin_options"
    code = o.scalar(3, "B", 0, "builtin_options_type")
    table = o.table(4, "builtin_options")
    kind = _enum_names(_schema().BuiltinOptions).get(code) if code else None
    if code and kind is None:
        raise TFLiteFormatError(f"{what}: unknown options type {code}")
    want = OPTIONS_OF.get(name)
    if want and kind and kind != want:
        raise TFLiteFormatError(f"{what}: {kind}, but {name} needs {want}")
    if table is not None and kind is None:
        raise TFLiteFormatError(f"{what}: a table without an options type")
    return Options(kind or want, table, what)


def _opcode_name(code: Table, i: int) -> str:
    deprecated = code.scalar(0, "b", 0, "deprecated_builtin_code")
    builtin = code.scalar(3, "i", 0, "builtin_code")
    value = max(int(deprecated), int(builtin))   # schema rule: the larger one is real
    if value == 32:
        return "CUSTOM:" + code.string(1, "custom_code")
    return _enum_names(_schema().BuiltinOperator).get(value, f"BUILTIN_{value}")


def tflm_quantization(scales: list[float], zero_points: list[int]) -> tuple[list, list]:
    """The quantization TFLM gives a tensor (InitializeTfLiteTensorFromFlatbuffer): none
    unless both vectors are non-empty; a zero-point vector whose length differs from the
    scales' (a converter writes one 0 for all channels of a weight) repeats its first
    value for every channel."""
    if not scales or not zero_points:
        return [], []
    if len(zero_points) != len(scales):
        zero_points = [zero_points[0]] * len(scales)
    return scales, zero_points


def read_model(data: bytes) -> Model:
    """Parse a .tflite flatbuffer (subgraph 0)."""
    if len(data) < 8:
        raise TFLiteFormatError(f"not a TFLite flatbuffer (file too short: {len(data)} bytes)")
    if data[4:8] != b"TFL3":
        raise TFLiteFormatError(f"not a TFLite flatbuffer (file identifier {data[4:8]!r}, "
                                "expected b'TFL3')")
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
            raise TFLiteFormatError(f"tensor {i} ({t.string(3, 'name')}): type {type_name(ttype)}, "
                                    "which TFLite Micro cannot allocate")
        tname, dtype, _ = TENSOR_TYPES[ttype]
        # `shape` is what TFLM allocates; `shape_signature` (-1 for a batch dimension the
        # converter left open) is not read by TFLM, nor here
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
            if n and dtype is not None:  # packed/opaque types: no array (no op reads them)
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
        scales, zps = tflm_quantization(scales, zps)
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
        name = _opcode_name(codes[ci], ci)
        ops.append(Operator(i, name, ins, outs, _options(o, i, name),
                            codes[ci].scalar(2, "i", 1, "version")))
    inputs = sg.vector(1, "i", "inputs")
    outputs = sg.vector(2, "i", "outputs")
    for what, idx in (("inputs", inputs), ("outputs", outputs)):
        for t in idx:
            if not 0 <= t < len(tensors):
                raise TFLiteFormatError(f"SubGraph.{what}: tensor index {t} out of range")
    return Model(tensors, ops, inputs, outputs, len(subgraphs))
