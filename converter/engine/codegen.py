"""Emit model_engine.h / model_engine.cc for one int8 .tflite model.

Each op is lowered by its module in `converter/engine/ops/` (see `ops.REGISTRY`), which
precomputes every multiplier, shift, zero point and clamp here and emits one kernel call.
The output is plain C++17: weights as `alignas(16) const` arrays, one static arena, no
malloc, and `int model_engine_invoke(const void *input, void *output)`.
"""
from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import numpy as np

from bedside import fileio
from bedside.banner import banner as make_banner
from bedside.kitfiles import FIRMWARE_DIR

from . import ops as op_registry
from .fold import fold_constants
from .errors import EngineError, UnsupportedOpError
from .planner import plan as make_plan
from .quant import FLOAT64, reference
from .tflite_reader import Model, Operator, Tensor, read_model
from .validate import check_model

GEN_FORMAT = 4   # 2: model_engine_held (INFO held_sha256); 3: CONV_2D scratch holds two im2col fields; 4: four
GENERATOR = "bedside.converter.engine"
KERNELS = FIRMWARE_DIR / "engine" / "kernels"

# little-endian numpy dtype of each C type an array is emitted as (held_sha256)
HELD_DTYPES = {"int8_t": "<i1", "int16_t": "<i2", "int32_t": "<i4", "int64_t": "<i8",
               "uint8_t": "<u1", "float": "<f4", "bool": "<u1"}
CTYPES = {"int8": "int8_t", "int32": "int32_t", "float32": "float", "int16": "int16_t",
          "uint8": "uint8_t", "int64": "int64_t", "bool": "bool"}


@functools.lru_cache(maxsize=None)
def struct_fields() -> dict[str, tuple[str, ...]]:
    """Field names, in declaration order, of every `struct ...Params` in the kernel headers,
    so op modules fill parameter structs by name and stay right when a struct changes."""
    found = {}
    for header in sorted(KERNELS.glob("*.h")):
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", header.read_text(), flags=re.S)
        for name, body in re.findall(r"struct\s+(\w+Params)\s*\{(.*?)\};", text, flags=re.S):
            fields = []
            for decl in body.split(";"):
                decl = re.sub(r"\[[^\]]*\]|=[^,]*", "", decl).strip()
                if decl:      # "const int8_t *filter", "int32_t a, b, c", "int32_t dims[4]"
                    first, *more = decl.split(",")
                    fields += [n.strip(" *&") for n in [first.split()[-1], *more]]
            found[name] = tuple(fields)
    return found


def _c_array(values: np.ndarray, per_line: int = 24) -> str:
    flat = [str(int(v)) if values.dtype.kind in "iub" else repr(float(v)) + "f"
            for v in values.reshape(-1)]
    if values.dtype.kind in "iu" and values.dtype.itemsize == 4:
        flat = [f"{v}" if int(v) != -(1 << 31) else "INT32_MIN" for v in values.reshape(-1)]
    lines = [", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line)]
    return "{\n  " + ",\n  ".join(lines) + "\n}" if flat else "{0}"


def _c_value(v) -> str:
    """A struct field initializer: lists become braced arrays, the rest as written."""
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(str(x) for x in v) + "}"
    return str(v)


class Gen:
    """What an op module sees: tensors, pointers, constants, and the code it emits."""

    def __init__(self, model: Model, plan, derivation: str = FLOAT64):
        self.model = model
        self.plan = plan
        self.derivation = derivation      # quant.DERIVATIONS: which TFLM's multipliers to match
        self.op_macs: list[int] = []      # MACs of each operator, in order (bench --per-op)
        self.decls: list[str] = []
        self.body: list[str] = []
        self.weight_bytes = 0
        self.dsp_weight_bytes = 0
        self.riscv_weight_bytes = 0
        self.macs = 0
        self._consts: dict[tuple, str] = {}
        self._n = 0
        self.op: Operator | None = None
        # held_sha256 (docs/protocol.md): what model_engine_held() visits, in order, as C
        # lines and as the little-endian bytes the host hashes; builds: "all", "dsp" (DSP
        # builds only) or "portable" (all others), as the array is compiled
        self.held: list[tuple[str, bytes, str]] = []

    # -- tensors
    def t(self, index: int) -> Tensor:
        return self.model.tensors[index]

    def fail(self, detail: str):
        raise UnsupportedOpError(self.op.op, detail, self.op.index)

    def require_type(self, index: int, *types: str) -> Tensor:
        t = self.t(index)
        if t.type not in types:
            self.fail(f"tensor {index} '{t.name}' is {t.type.upper()}, needs "
                      f"{'/'.join(x.upper() for x in types)}")
        return t

    def ptr(self, index: int, const: bool = False) -> str:
        """C expression for tensor `index`'s data (arena, caller's buffer or const array)."""
        t = self.t(index)
        ctype = CTYPES[t.type]
        if t.data is not None:
            return self.const(t.data, f"c{index}")
        b = self.plan.tensor_buffer[index]
        q = "const " if const else ""
        if b.location == "input":
            return f"static_cast<const {ctype} *>(input)"
        if b.location == "output":
            return f"static_cast<{ctype} *>(output)"
        return f"reinterpret_cast<{q}{ctype} *>(g_arena + {b.offset})"

    def scratch(self, ctype: str) -> str:
        b = self.plan.scratch[self.op.index]
        return f"reinterpret_cast<{ctype} *>(g_arena + {b.offset})"

    # -- emission
    def const(self, values, hint: str, ctype: str | None = None, builds: str = "all") -> str:
        """A `static const` array in flash; identical arrays are emitted once."""
        arr = np.ascontiguousarray(values)
        if ctype is None:
            ctype = CTYPES[{np.dtype(np.int8): "int8", np.dtype(np.int32): "int32",
                            np.dtype(np.float32): "float32", np.dtype(np.uint8): "uint8",
                            np.dtype(np.int16): "int16", np.dtype(np.int64): "int64"}[arr.dtype]]
        key = (builds, ctype, arr.dtype.str, arr.shape, arr.tobytes())
        if key in self._consts:
            return self._consts[key]
        name = f"k_{hint}"
        self.decls.append(f"[[maybe_unused]] alignas(16) const {ctype} {name}[{max(arr.size, 1)}] = {_c_array(arr)};")
        self.weight_bytes += arr.nbytes
        self._consts[key] = name
        self._hold_array(name, arr, ctype, builds)
        return name

    def const_portable(self, values, hint: str) -> str:
        """An array only the portable kernels read: nullptr in DSP builds, which then neither
        keep nor hash it."""
        return f"BEDSIDE_ENGINE_PORTABLE_ONLY({self.const(values, hint, builds='portable')})"

    def _const_only(self, values, hint: str, ctype: str, guard: str, kind: str):
        """A constant compiled only where the preprocessor `guard` holds, held in `kind`'s
        held_sha256; returns (array, name)."""
        arr = np.ascontiguousarray(values)
        name = f"k_{hint}"
        self.decls.append(f"#if {guard}\nalignas(16) const {ctype} {name}[{max(arr.size, 1)}] = "
                          f"{_c_array(arr)};\n#endif")
        self._hold_array(name, arr, ctype, kind)
        return arr, name

    def const_dsp(self, values, hint: str, ctype: str) -> str:
        """A constant compiled only into DSP builds (BEDSIDE_ENGINE_DSP); nullptr elsewhere."""
        arr, name = self._const_only(values, hint, ctype, "BEDSIDE_ENGINE_DSP", "dsp")
        self.dsp_weight_bytes += arr.nbytes
        return f"BEDSIDE_ENGINE_DSP_ONLY({name})"

    def const_riscv(self, values, hint: str, ctype: str) -> str:
        """A constant compiled only into the RISC-V builds (BEDSIDE_ENGINE_TWO_PIXELS: their
        own kernels read it); nullptr elsewhere. Held in the RISC-V builds' held_sha256."""
        arr, name = self._const_only(values, hint, ctype, "BEDSIDE_ENGINE_TWO_PIXELS", "riscv")
        self.riscv_weight_bytes += arr.nbytes
        return f"BEDSIDE_ENGINE_RISCV_ONLY({name})"

    def param(self, ctype: str, comment: str = "", **fields) -> str:
        """A `const` parameter struct `bedside_engine::<ctype>` filled by field name (every
        field of the kernel header's struct, no other), emitted as designated initialisers
        in declaration order, so the compiler checks the names too."""
        order = struct_fields().get(ctype)
        if order is None:
            raise RuntimeError(f"no struct {ctype} in {KERNELS}")
        if set(order) != set(fields):
            raise RuntimeError(f"{ctype}: missing fields {sorted(set(order) - set(fields))}, "
                               f"unknown fields {sorted(set(fields) - set(order))}")
        self._n += 1
        name = f"p{self.op.index}_{self._n}"
        init = ", ".join(f".{f} = {_c_value(fields[f])}" for f in order)
        self.decls.append(f"const bedside_engine::{ctype} {name} = {{{init}}};"
                          + (f"  // {comment}" if comment else ""))
        self._hold_fields(name, order, fields)
        return name

    def emit(self, line: str) -> None:
        self.body.append("  " + line)

    # -- held_sha256: the bytes the kernels read, visited from the very objects they use
    def _hold_array(self, name: str, arr: np.ndarray, ctype: str, builds: str) -> None:
        data = arr.astype(HELD_DTYPES[ctype]).tobytes()
        self.held.append((f"visit(ctx, {name}, sizeof({name}[0]), {arr.size}u);", data, builds))

    def _hold_fields(self, name: str, order: tuple[str, ...], fields: dict) -> None:
        """The int32 fields of a parameter struct (pointer fields name arrays held above)."""
        for f in order:
            v = fields[f]
            values = list(v) if isinstance(v, (list, tuple)) else [v]
            if not all(isinstance(x, (int, np.integer)) for x in values):
                continue          # a pointer: its array is held where it is declared
            ref = f"{name}.{f}" if isinstance(v, (list, tuple)) else f"&{name}.{f}"
            self.held.append((f"held_i32(visit, ctx, {ref}, {len(values)}u);",
                              np.array(values, "<i4").tobytes(), "all"))

    def held_sha256(self, dsp: bool, riscv: bool = False) -> str:
        """SHA-256 of what model_engine_held() visits in a portable (dsp False), DSP or
        RISC-V (portable plus the "riscv" arrays) build."""
        h = hashlib.sha256()
        for _, data, builds in self.held:
            if (builds == "all" or (builds == "dsp") == dsp and builds != "riscv"
                    or builds == "riscv" and riscv and not dsp):
                h.update(data)
        return h.hexdigest()

    def held_function(self) -> str:
        lines = []
        guards = {"dsp": "#if BEDSIDE_ENGINE_DSP", "portable": "#if !BEDSIDE_ENGINE_DSP",
                  "riscv": "#if BEDSIDE_ENGINE_TWO_PIXELS"}
        for c, _, builds in self.held:
            lines += [guards[builds], f"  {c}", "#endif"] if builds in guards else [f"  {c}"]
        return "\n".join(lines)




def lower(model: Model, derivation: str = FLOAT64) -> tuple[Gen, object]:
    """Plan memory and lower every op; raises UnsupportedOpError on the first unknown op."""
    check_model(model)
    fold_constants(model)
    for op in model.operators:
        if op.op not in op_registry.REGISTRY:
            raise UnsupportedOpError(op.op, index=op.index)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise EngineError(f"the engine supports models with one input and one output, "
                          f"this one has {len(model.inputs)} and {len(model.outputs)}")
    scratch = {}
    for op in model.operators:
        mod = op_registry.REGISTRY[op.op]
        fn = getattr(mod, "scratch_bytes", None)
        if fn:
            scratch[op.index] = fn(op, model)
    for op in model.operators:
        if not op.outputs or any(t < 0 for t in op.outputs) or not op.inputs:
            raise EngineError(f"operator {op.index} ({op.op}) has no inputs or outputs")
        for i in op.inputs + op.outputs:
            if i >= 0 and model.tensors[i].type not in CTYPES:
                t = model.tensors[i]
                raise UnsupportedOpError(op.op, f"tensor {i} '{t.name}' is {t.type.upper()}, a "
                                         "type the compiled engine does not handle", op.index)
    p = make_plan(model, scratch)
    g = Gen(model, p, derivation)
    for op in model.operators:
        g.op = op
        g.emit(f"// {op.index}: {op.op}")
        macs0 = g.macs
        try:
            op_registry.REGISTRY[op.op].lower(op, g)
        except EngineError:
            raise
        except (IndexError, KeyError, ValueError, TypeError, ZeroDivisionError) as e:
            raise EngineError(f"operator {op.index} ({op.op}) is malformed: {e!r}") from e
        g.emit(f"BEDSIDE_ENGINE_OP_DONE({op.index});")
        g.op_macs.append(g.macs - macs0)
    return g, p


def render(tflite_bytes: bytes, command: str = "",
           derivation: str = FLOAT64) -> tuple[dict[str, str], dict]:
    ref = reference(derivation)
    model = read_model(tflite_bytes)
    g, p = lower(model, derivation)
    sha = hashlib.sha256(tflite_bytes).hexdigest()
    banner = make_banner(GENERATOR, "The compiled model (bedside engine).", command,
                         {"Input model SHA-256": sha,
                          "Matches": "{package} {version} (multipliers: {multiplier_derivation}, "
                                     "rounding: {rounding})".format(**ref)})
    tin = model.tensors[model.inputs[0]]
    tout = model.tensors[model.outputs[0]]
    in_buf = p.tensor_buffer[model.inputs[0]]
    out_buf = p.tensor_buffer[model.outputs[0]]
    header = f"""{banner}// The compiled model: call model_engine_invoke() with the input tensor's bytes.
#ifndef MODEL_ENGINE_H_
#define MODEL_ENGINE_H_

#define BEDSIDE_ENGINE_GEN_FORMAT {GEN_FORMAT}
#define MODEL_ENGINE_ARENA_BYTES {p.arena_bytes}
#define MODEL_ENGINE_INPUT_BYTES {tin.nbytes}
#define MODEL_ENGINE_OUTPUT_BYTES {tout.nbytes}
#define MODEL_ENGINE_WEIGHT_BYTES {g.weight_bytes}
#define MODEL_ENGINE_MACS {g.macs}
#define MODEL_ENGINE_OPS {len(model.operators)}
/* SHA-256 of what model_engine_held() visits (little-endian elements), for the host to
   expect in INFO held_sha256 (docs/protocol.md): portable builds, BEDSIDE_ENGINE_DSP builds,
   RISC-V builds (BEDSIDE_ENGINE_TWO_PIXELS: the portable arrays and their own) */
#define MODEL_ENGINE_HELD_SHA256 "{g.held_sha256(dsp=False)}"
#define MODEL_ENGINE_HELD_SHA256_DSP "{g.held_sha256(dsp=True)}"
#define MODEL_ENGINE_HELD_SHA256_RISCV "{g.held_sha256(dsp=False, riscv=True)}"

#ifdef __cplusplus
extern "C" {{
#endif
/* Runs one inference; input/output are the model's input/output tensors ({tin.type} {list(tin.shape)} ->
   {tout.type} {list(tout.shape)}). Returns 0 on success. Not reentrant (one static arena). */
int model_engine_invoke(const void *input, void *output);
/* Visits every weight array and parameter the kernels read, from the objects they read, in
   a fixed order: `count` elements of `elem_bytes` each, in the target's byte order. */
typedef void (*model_engine_visit_fn)(void *ctx, const void *data, unsigned elem_bytes,
                                      unsigned count);
void model_engine_held(model_engine_visit_fn visit, void *ctx);
#ifdef __cplusplus
}}
#endif

#endif  // MODEL_ENGINE_H_
"""
    pre, post = [], []
    if in_buf.location == "arena":       # the input buffer is also the output (pure reshape)
        pre.append(f"  memcpy(g_arena + {in_buf.offset}, input, {tin.nbytes});")
    if out_buf.location == "arena":
        post.append(f"  memcpy(output, g_arena + {out_buf.offset}, {tout.nbytes});")
    arena_decl = (f"alignas(16) uint8_t g_arena[{p.arena_bytes}];" if p.arena_bytes
                  else "// (no arena: every tensor lives in the caller's input/output buffers)")
    source = f"""{banner}// Ops: {", ".join(op.op for op in model.operators)}
// Arena: {p.arena_bytes} bytes; weights and constants: {g.weight_bytes} bytes.
#include "model_engine.h"

#include "engine.h"

#if BEDSIDE_ENGINE_GEN_FORMAT != BEDSIDE_ENGINE_FORMAT
#error Regenerate the model sources: generated format and firmware/engine format differ
#endif

namespace {{

{arena_decl}

{chr(10).join(g.decls)}

// int32 fields of the parameter structs (a field of another type does not compile here)
[[maybe_unused]] void held_i32(model_engine_visit_fn visit, void *ctx, const int32_t *x, unsigned n) {{
  visit(ctx, x, 4u, n);
}}

}}  // namespace

extern "C" void model_engine_held(model_engine_visit_fn visit, void *ctx) {{
  (void)visit;
  (void)ctx;
{g.held_function()}
}}

extern "C" int model_engine_invoke(const void *input, void *output) {{
  (void)input;
  (void)output;
{chr(10).join(pre + g.body + post)}
  return 0;
}}
"""
    info = {"arena_bytes": p.arena_bytes, "weight_bytes": g.weight_bytes,
            "dsp_extra_weight_bytes": g.dsp_weight_bytes,
            "riscv_extra_weight_bytes": g.riscv_weight_bytes,
            "ops": [op.op for op in model.operators], "macs": g.macs, "op_macs": g.op_macs,
            "input_bytes": tin.nbytes, "output_bytes": tout.nbytes,
            "input_type": tin.type, "output_type": tout.type, "model_sha256": sha,
            "reference": ref, "held_sha256": g.held_sha256(dsp=False),
            "held_sha256_dsp": g.held_sha256(dsp=True),
            "held_sha256_riscv": g.held_sha256(dsp=False, riscv=True)}
    return {"model_engine.h": header, "model_engine.cc": source}, info


def generate(tflite_bytes: bytes, out_dir: Path, command: str = "",
             derivation: str = FLOAT64) -> dict:
    """Generate model_engine.h/.cc into out_dir; returns arena/weight bytes, ops, MACs and
    the reference the engine matches (`derivation`: see quant.DERIVATIONS)."""
    files, info = render(tflite_bytes, command, derivation)    # everything is checked before writing
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        fileio.write_text(out_dir / name, text)
    return info
