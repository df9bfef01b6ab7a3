"""`bedside bench engine MODEL.tflite`: check the compiled engine against TFLM, then measure it.

1. Correctness: generate C++ for the model, compile it for the host (g++, ASan/UBSan),
   run N random inputs through it and through the `tflite_micro` interpreter, compare
   every output byte (exit 1 on any difference; exit 2 with the op's name if unsupported).
2. Figures: arena bytes vs TFLM's recorded arena, weight bytes, Cortex-M4 code size
   (arm-none-eabi-size of a minimal firmware), instructions per inference on QEMU
   mps2-an386 (-icount shift=0, counted with SysTick) and instructions per MAC.

The host harness here (`build_host`, `run_host`, `tflm_outputs`) is also what the tests use.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

KIT_ROOT = Path(__file__).resolve().parents[1]
ENGINE_DIR = KIT_ROOT / "firmware" / "engine"
STRICT = ["-std=c++17", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion",
          "-Wno-sign-conversion"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


# --- host harness ----------------------------------------------------------------------

def _driver_source(n_models: int) -> str:
    """A main() that runs model K on a file of inputs: `prog K IN OUT IN_BYTES OUT_BYTES`."""
    decls = "\n".join(f'extern "C" int m{k}_invoke(const void *, void *);' for k in range(n_models))
    table = ", ".join(f"m{k}_invoke" for k in range(n_models))
    return f"""// Host test driver for generated engines (written by converter/bench_engine.py).
#include <cstdio>
#include <cstdlib>
#include <vector>
{decls}
typedef int (*Invoke)(const void *, void *);
static const Invoke kModels[] = {{{table}}};
int main(int argc, char **argv) {{
  if (argc != 6) return 2;
  const int k = atoi(argv[1]);
  const size_t in_bytes = strtoul(argv[4], nullptr, 10), out_bytes = strtoul(argv[5], nullptr, 10);
  FILE *fi = fopen(argv[2], "rb"), *fo = fopen(argv[3], "wb");
  if (!fi || !fo || k < 0 || k >= {n_models}) return 2;
  // Exact-size heap buffers so AddressSanitizer catches any out-of-bounds access.
  std::vector<unsigned char> in(in_bytes), out(out_bytes);
  while (fread(in.data(), 1, in_bytes, fi) == in_bytes) {{
    unsigned char *pin = new unsigned char[in_bytes], *pout = new unsigned char[out_bytes];
    for (size_t i = 0; i < in_bytes; ++i) pin[i] = in[i];
    if (kModels[k](pin, pout) != 0) return 3;
    fwrite(pout, 1, out_bytes, fo);
    delete[] pin;
    delete[] pout;
  }}
  fclose(fi);
  fclose(fo);
  return 0;
}}
"""


def build_host(gen_dirs: list[Path], build_dir: Path, sanitize: bool = True,
               extra_flags: list[str] | None = None) -> Path:
    """Compile generated engines (one per dir) + driver into one host program."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "driver.cc").write_text(_driver_source(len(gen_dirs)))
    flags = STRICT + (SANITIZE if sanitize else []) + (extra_flags or [])
    objs, procs = [], []
    for k, d in enumerate(gen_dirs):
        obj = build_dir / f"m{k}.o"
        cmd = ["g++", *flags, f"-Dmodel_engine_invoke=m{k}_invoke", f"-I{d}", f"-I{ENGINE_DIR}",
               "-c", str(Path(d) / "model_engine.cc"), "-o", str(obj)]
        procs.append((cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True)))
        objs.append(str(obj))
        if len(procs) >= 2:                         # two cores: two compilers at a time
            _wait(procs.pop(0))
    for p in procs:
        _wait(p)
    exe = build_dir / "engine_host"
    subprocess.run(["g++", *flags, str(build_dir / "driver.cc"), *objs, "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    return exe


def _wait(item) -> None:
    cmd, proc = item
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"compile failed: {' '.join(cmd)}\n{out}")


def run_host(exe: Path, k: int, inputs: np.ndarray, out_dtype, out_shape) -> np.ndarray:
    """Run model k of `exe` on inputs [N, ...]; returns outputs [N, *out_shape]."""
    n = inputs.shape[0]
    in_bytes = inputs[0].nbytes
    out_bytes = int(np.prod(out_shape)) * np.dtype(out_dtype).itemsize
    with tempfile.TemporaryDirectory() as tmp:
        fi, fo = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fi.write_bytes(np.ascontiguousarray(inputs).tobytes())
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="print_stacktrace=1")
        r = subprocess.run([str(exe), str(k), str(fi), str(fo), str(in_bytes), str(out_bytes)],
                           capture_output=True, text=True, env=env)
        if r.returncode:
            raise RuntimeError(f"engine program failed ({r.returncode}):\n{r.stderr[-4000:]}")
        return np.frombuffer(fo.read_bytes(), dtype=out_dtype).reshape((n, *out_shape))


def tflm_outputs(model_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    """Run each input through the tflite_micro interpreter (the reference)."""
    from bedside.tflm import interpreter
    it = interpreter(model_bytes)
    outs = []
    for x in inputs:
        it.set_input(x[None] if x.ndim < len(it.get_input_details(0)["shape"]) else x, 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)).copy())
    return np.stack(outs)


def random_inputs(model_bytes: bytes, n: int, seed: int) -> np.ndarray:
    """N random inputs for the model's input tensor: uniform int8, or float spanning its range."""
    from .engine import read_model
    m = read_model(model_bytes)
    t = m.tensors[m.inputs[0]]
    rng = np.random.default_rng(seed)
    if t.type == "int8":
        return rng.integers(-128, 128, size=(n, *t.shape), dtype=np.int8)
    if t.type == "float32":
        return rng.uniform(-4.0, 4.0, size=(n, *t.shape)).astype(np.float32)
    raise ValueError(f"model input type {t.type} is not supported (int8 or float32)")


def tflm_arena_bytes(model_bytes: bytes) -> int | None:
    """TFLM's recorded arena total for one inference (RecordingMicroAllocator)."""
    code = ("import sys,numpy as np\nfrom tflite_micro import runtime\n"
            "d=open(sys.argv[1],'rb').read()\n"
            "it=runtime.Interpreter.from_bytes(d, arena_size=1<<22)\n"
            "det=it.get_input_details(0)\n"
            "it.set_input(np.zeros(det['shape'],det['dtype']),0); it.invoke(); it.print_allocations()\n")
    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(model_bytes)
        f.flush()
        r = subprocess.run([sys.executable, "-c", code, f.name], capture_output=True, text=True)
    m = re.search(r"Arena allocation total (\d+) bytes", r.stdout + r.stderr)
    return int(m.group(1)) if m else None


# --- command ---------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="an int8 .tflite model")
    parser.add_argument("-n", "--inputs", type=int, default=300, help="random inputs to compare (300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (0)")
    parser.add_argument("--no-cortex-m", action="store_true", help="skip the Cortex-M4 figures")
    from bedside import jsonout
    jsonout.add_argument(parser)
    parser.add_argument("--keep", type=Path, help="keep generated sources and builds here")


def run(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from .engine import EngineError, TFLiteFormatError, generate
    from bedside import jsonout
    console = Console(stderr=jsonout.to_stdout(args))
    try:
        data = args.model.read_bytes()
    except OSError as e:
        console.print(f"[red]cannot read {args.model}: {e}")
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_engine_"))
    try:
        try:
            info = generate(data, work / "gen", command=f"bedside bench engine {args.model}")
        except (EngineError, TFLiteFormatError) as e:
            console.print(f"[red]{args.model}: {e}")
            return 2
        figures = {"model": str(args.model), "seed": args.seed, "inputs": args.inputs, **info}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("host build + TFLM comparison", total=3)
            exe = build_host([work / "gen"], work / "host")
            progress.advance(task)
            x = random_inputs(data, args.inputs, args.seed)
            ref = tflm_outputs(data, x)
            progress.advance(task)
            got = run_host(exe, 0, x, ref.dtype, ref.shape[1:])
            progress.advance(task)
        diff = int(np.count_nonzero(got.view(np.uint8) != ref.view(np.uint8)))
        figures["bytes_compared"] = int(ref.nbytes)
        figures["bytes_different"] = diff
        if diff:
            console.print(f"[red]MISMATCH: {diff} of {ref.nbytes} output bytes differ from TFLM "
                          f"(seed {args.seed})")
            jsonout.emit(args, figures)
            return 1
        console.print(f"[green]bit-exact[/]: {args.inputs} random inputs (seed {args.seed}), "
                      f"all {ref.nbytes} output bytes equal to tflite_micro")
        figures["tflm_arena_bytes"] = tflm_arena_bytes(data)
        if not args.no_cortex_m:
            from .engine import bench_m4
            figures.update(bench_m4.measure(work / "gen", work / "m4", x[:4], ref[:4], console))
        _print_figures(console, figures)
        jsonout.emit(args, figures)
        return 0 if figures.get("m4_outputs_equal", True) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _print_figures(console, f: dict) -> None:
    from rich.table import Table
    t = Table(title="compiled engine")
    t.add_column("figure")
    t.add_column("value", justify="right")
    tflm = f.get("tflm_arena_bytes")
    ratio = f" ({100 * f['arena_bytes'] / tflm:.0f}% of TFLM's {tflm})" if tflm else ""
    t.add_row("arena bytes", f"{f['arena_bytes']}{ratio}")
    t.add_row("weight + constant bytes", str(f["weight_bytes"]))
    t.add_row("MACs per inference", str(f["macs"]))
    for key, label in (("m4_text_bytes", "Cortex-M4 .text bytes (whole firmware)"),
                       ("m4_engine_text_bytes", "Cortex-M4 engine code+weights bytes"),
                       ("m4_instructions", "instructions per inference (QEMU M4)"),
                       ("m4_instructions_per_mac", "instructions per MAC (DSP path)"),
                       ("m4_portable_instructions", "instructions per inference, portable C++"),
                       ("m4_portable_instructions_per_mac", "instructions per MAC, portable C++")):
        if key in f and f[key] is not None:
            v = f[key]
            t.add_row(label, f"{v:.2f}" if isinstance(v, float) else str(v))
    console.print(t)
