"""Read what the converter needs from a .tflite flatbuffer: ops, versions, I/O quantization.

Uses the schema bindings shipped with the `tflite-micro` wheel, so it needs no TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class TfliteError(ValueError):
    """A .tflite file that is missing, corrupt or not usable by the kit."""


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    return schema_py_generated


_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8", 6: "bool"}


@dataclass
class TensorInfo:
    name: str
    shape: list[int]
    dtype: str
    scale: float | None
    zero_point: int | None

    @property
    def bytes(self) -> int:
        size = {"float32": 4, "int32": 4, "int64": 8, "int16": 2}.get(self.dtype, 1)
        return int(np.prod(self.shape)) * size

    def as_dict(self) -> dict:
        return {"shape": self.shape, "dtype": self.dtype, "scale": self.scale,
                "zero_point": self.zero_point, "bytes": self.bytes}


@dataclass
class OpInfo:
    index: int
    name: str               # builtin name, e.g. CONV_2D, or the custom code
    version: int
    output_names: list[str] = field(default_factory=list)
    output_dtypes: list[str] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)


@dataclass
class ModelInfo:
    ops: list[OpInfo]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]

    def op_versions(self) -> list[dict]:
        """Distinct ops with their highest version, sorted by name (deterministic)."""
        best: dict[str, int] = {}
        for op in self.ops:
            best[op.name] = max(best.get(op.name, 0), op.version)
        return [{"name": n, "version": v} for n, v in sorted(best.items())]


def _tensor(t) -> TensorInfo:
    q = t.quantization
    scale = zp = None
    if q is not None and q.scale is not None and len(q.scale) > 0:
        scale = float(np.float32(q.scale[0]))
        zp = int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or "")
    return TensorInfo(name, shape, _DTYPES.get(int(t.type), f"type{int(t.type)}"), scale, zp)


def read_model(data: bytes, source: str = "model") -> ModelInfo:
    """Parse a .tflite flatbuffer; raise TfliteError naming `source` when it is not one."""
    s = _schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TfliteError(f"{source}: not a TFLite flatbuffer (file identifier "
                          f"{data[4:8]!r}, expected b'TFL3')")
    try:
        model = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
        names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
        if not model.subgraphs:
            raise TfliteError(f"{source}: the model has no subgraph")
        if len(model.subgraphs) > 1:
            raise TfliteError(f"{source}: {len(model.subgraphs)} subgraphs; the kit supports "
                              "single-subgraph models (no control flow)")
        sg = model.subgraphs[0]
        tensors = [_tensor(t) for t in sg.tensors]
        ops = []
        for i, op in enumerate(sg.operators or []):
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
            name = names.get(builtin, f"BUILTIN_{builtin}")
            if name == "CUSTOM":
                cc = code.customCode
                name = "CUSTOM:" + (cc.decode() if isinstance(cc, bytes) else str(cc))
            outs = list(op.outputs) if op.outputs is not None else []
            ins = list(op.inputs) if op.inputs is not None else []
            ops.append(OpInfo(i, name, int(code.version),
                              [tensors[j].name for j in outs if j >= 0],
                              [tensors[j].dtype for j in outs if j >= 0],
                              [tensors[j].name for j in ins if j >= 0]))
        inputs = [tensors[i] for i in sg.inputs]
        outputs = [tensors[i] for i in sg.outputs]
    except TfliteError:
        raise
    except Exception as e:  # the flatbuffer library raises assorted errors on garbage
        raise TfliteError(f"{source}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})")
    return ModelInfo(ops, inputs, outputs)


def check_int8_io(info: ModelInfo, source: str) -> None:
    """The kit's device path is full-integer: one int8 input and one int8 output."""
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise TfliteError(f"{source}: {len(info.inputs)} inputs / {len(info.outputs)} outputs; "
                          "the kit needs exactly one of each")
    int8_inside = any("int8" in op.output_dtypes for op in info.ops)
    for kind, t in (("input", info.inputs[0]), ("output", info.outputs[0])):
        if t.dtype != "int8" or t.scale is None:
            why = ("the model is quantized inside but has a float interface: convert with "
                   "int8 inference input/output types" if int8_inside else
                   "a float-only model: convert with full-integer quantization")
            raise TfliteError(f"{source}: {kind} tensor '{t.name}' is {t.dtype}, not quantized "
                              f"int8 ({why})")
    float_ops = [op for op in info.ops if "float32" in op.output_dtypes
                 and op.name not in ("DEQUANTIZE",)]
    if float_ops:
        op = float_ops[0]
        raise TfliteError(f"{source}: op {op.name} (#{op.index}) computes in float32 "
                          f"(tensor '{op.output_names[0]}'); the model is not fully int8")
