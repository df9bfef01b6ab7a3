"""`bedside bench engine MODEL.tflite`: check the compiled engine against TFLM, then measure it.

1. Correctness: generate C++ for the model, compile it for the host (g++, ASan/UBSan),
   run N random inputs through it and through the `tflite_micro` interpreter, compare
   every output byte (exit 1 on any difference; exit 2 with the op's name if unsupported).
2. Figures: arena bytes vs TFLM's recorded arena, weight bytes, and for each emulated
   target (`--targets`, bedside/bench/engine_m4.py: Cortex-M4 DSP and portable kernels,
   Cortex-M3, Cortex-M0, RISC-V rv32imc) the engine's code+weights bytes and instructions
   per inference and per MAC on QEMU (-icount shift=0); a model the target cannot hold is
   reported as not fitting. `--per-op` adds a table of instructions and instructions per
   MAC for every op of every target. `--public NAME` benchmarks a public architecture at
   its published size (converter/engine/public_models.py) next to issue 17's CMSIS-NN figures.

The host harness here (`build_host`, `run_host`, `tflm_outputs`) is also what the tests use.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bedside.kitfiles import FIRMWARE_DIR
from bedside.converter.engine.quant import DERIVATIONS, FLOAT64

ENGINE_DIR = FIRMWARE_DIR / "engine"
STRICT = ["-std=c++17", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion",
          "-Wno-sign-conversion"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


# --- host harness ----------------------------------------------------------------------

def _driver_source(n_models: int) -> str:
    """A main() that runs model K on a file of inputs: `prog K IN OUT IN_BYTES OUT_BYTES`."""
    decls = "\n".join(f'extern "C" int m{k}_invoke(const void *, void *);' for k in range(n_models))
    table = ", ".join(f"m{k}_invoke" for k in range(n_models))
    return f"""// Host test driver for generated engines (written by bedside/bench/engine.py).
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
        cmd = ["g++", *flags, f"-Dmodel_engine_invoke=m{k}_invoke", f"-Dmodel_engine_held=m{k}_held",
               f"-I{d}", f"-I{ENGINE_DIR}",
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
    from bedside.reference.tflm import interpreter
    it = interpreter(model_bytes)
    outs = []
    for x in inputs:
        it.set_input(x[None] if x.ndim < len(it.get_input_details(0)["shape"]) else x, 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)).copy())
    return np.stack(outs)


def random_inputs(model_bytes: bytes, n: int, seed: int) -> np.ndarray:
    """N random inputs for the model's input tensor: uniform int8, or float spanning its range."""
    from bedside.converter.engine import read_model
    m = read_model(model_bytes)
    t = m.tensors[m.inputs[0]]
    rng = np.random.default_rng(seed)
    if t.type == "int8":
        return rng.integers(-128, 128, size=(n, *t.shape), dtype=np.int8)
    if t.type == "float32":
        return rng.uniform(-4.0, 4.0, size=(n, *t.shape)).astype(np.float32)
    raise ValueError(f"model input type {t.type} is not supported (int8 or float32)")


# --- command ---------------------------------------------------------------------------

def add_arguments(parser) -> None:
    from bedside.bench.engine_m4 import DEFAULT_TARGETS
    from bedside.converter.engine.public_models import MODELS
    parser.add_argument("model", type=Path, nargs="?", help="an int8 .tflite model (or --public NAME)")
    parser.add_argument("--public", metavar="NAME",
                        help="instead of MODEL: a public architecture at its published size, "
                             f"built with seeded weights and cached ({', '.join(MODELS)}; "
                             "needs TensorFlow the first time)")
    parser.add_argument("--tiny", action="store_true", help="with --public: the test-size version")
    parser.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                        help=f"emulated targets, comma-separated ({','.join(DEFAULT_TARGETS)})")
    parser.add_argument("-n", "--inputs", type=int, default=300, help="random inputs to compare (300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (0)")
    parser.add_argument("--no-cortex-m", action="store_true", help="skip the emulated targets' figures")
    parser.add_argument("--per-op", action="store_true",
                        help="also count instructions per op (one more build per target)")
    from bedside import jsonout
    jsonout.add_argument(parser)
    parser.add_argument("--keep", type=Path, help="keep generated sources and builds here")
    parser.add_argument("--multiplier-derivation", choices=DERIVATIONS, default=FLOAT64,
                        help="which TFLM's FULLY_CONNECTED multipliers to generate: float64 "
                             "(the tflite-micro wheel, default) or float32-product (TFLM C++ "
                             "of 2026-08-20); the comparison is always with the wheel")


def run(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from bedside.reference.tflm import TflmError

    from bedside.converter.engine import EngineError, TFLiteFormatError, generate
    from bedside import jsonout

    from bedside.converter.tflm_check import arena_used_bytes, quietly
    console = Console(stderr=jsonout.to_stdout(args), width=max(Console().width, 120))

    def refuse(text: str) -> int:
        """Bad input: one line on stderr naming the model, exit 2."""
        print(f"bedside bench engine: error: {text}".replace("\n", "\\n"), file=sys.stderr)
        return 2

    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import public_models
    targets = [t for t in args.targets.split(",") if t]
    unknown = [t for t in targets if t not in bench_m4.TARGETS]
    if unknown or not targets:
        return refuse(f"--targets: unknown target {', '.join(unknown) or '(none)'}; choose from "
                      f"{','.join(bench_m4.TARGETS)}")
    if (args.model is None) == (args.public is None):
        return refuse("give either a MODEL path or --public NAME")
    if args.tiny and args.public is None:
        return refuse("--tiny applies to --public NAME only")
    if args.public is not None:
        if args.public not in public_models.MODELS:
            return refuse(f"--public: unknown model '{args.public}'; choose from "
                          f"{', '.join(public_models.MODELS)}")
        try:
            with console.status(f"building public model {args.public} (cached)"):
                args.model = public_models.model_path(args.public, tiny=args.tiny)
        except ModuleNotFoundError as e:
            return refuse(f"--public {args.public}: building it needs '{e.name}' (pip install "
                          "'bedside-kit[full]')")
    try:
        data = args.model.read_bytes()
    except OSError as e:
        return refuse(f"cannot read {args.model}: {e.strerror or e}")
    if args.keep:
        from bedside import ownership
        ownership.claim(Path(args.keep))      # the kit's folder (or a new/empty one)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_engine_"))
    try:
        try:
            info = generate(data, work / "gen", command=f"bedside bench engine {args.model}",
                            derivation=args.multiplier_derivation)
        except (EngineError, TFLiteFormatError) as e:
            return refuse(f"{args.model}: {e}")
        figures = {"model": str(args.model), "seed": args.seed, "inputs": args.inputs, **info}
        reference = info["reference"]
        console.print("engine generated to match {package} {version} (multipliers: "
                      "{multiplier_derivation}, rounding: {rounding}); compared with the "
                      "tflite-micro wheel".format(**reference), soft_wrap=True)
        x = random_inputs(data, args.inputs, args.seed)
        try:
            ref = quietly(lambda: tflm_outputs(data, x))
            figures["tflm_arena_bytes"] = arena_used_bytes(data)
        except TflmError as e:
            return refuse(f"{args.model}: the reference cannot run it: {e}")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("host build + TFLM comparison", total=2)
            exe = build_host([work / "gen"], work / "host")
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
        if not args.no_cortex_m:
            try:
                with console.status("building and running the emulated targets"):
                    figures.update(bench_m4.measure(work / "gen", work / "m4", x[:4], ref[:4], console,
                                                    targets=targets, per_op=args.per_op, info=info))
            except bench_m4.BuildFailed as e:
                return refuse(f"{e} (--keep DIR keeps the build to rerun it)")
        if args.public:
            figures["public_model"] = {"name": args.public, "tiny": args.tiny,
                                       "cmsis_nn_instructions_per_mac": public_models.CMSIS_NN.get(args.public)}
        _print_figures(console, figures)
        if args.per_op:
            _print_per_op(console, figures)
        jsonout.emit(args, figures)
        if not figures.get("outputs_equal", True):
            console.print("[red]MISMATCH on Cortex-M: an emulated build's outputs differ from tflite_micro")
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _print_figures(console, f: dict) -> None:
    from rich.table import Table

    from bedside.bench.engine_m4 import TARGETS
    t = Table(title="compiled engine")
    t.add_column("figure")
    t.add_column("value", justify="right")
    tflm = f.get("tflm_arena_bytes")
    ratio = f" ({100 * f['arena_bytes'] / tflm:.0f}% of TFLM's {tflm})" if tflm else ""
    t.add_row("arena bytes", f"{f['arena_bytes']}{ratio}")
    t.add_row("weight + constant bytes", str(f["weight_bytes"]))
    t.add_row("MACs per inference", str(f["macs"]))
    if "m4_text_bytes" in f:
        t.add_row("Cortex-M4 .text bytes (whole benchmark firmware)", str(f["m4_text_bytes"]))
    cmsis = (f.get("public_model") or {}).get("cmsis_nn_instructions_per_mac") or {}
    for k, target in TARGETS.items():
        if f"{k}_note" in f:
            t.add_row(target.label, f[f"{k}_note"])
        if f"{k}_engine_bytes" in f:
            t.add_row(f"{target.label}: engine code+weights bytes", str(f[f"{k}_engine_bytes"]))
        if f"{k}_does_not_fit" in f:
            t.add_row(target.label, f"does not fit ({f[f'{k}_does_not_fit']})")
        elif f"{k}_instructions" in f:
            t.add_row(f"{target.label}: instructions per inference", str(f[f"{k}_instructions"]))
            ipm = f[f"{k}_instructions_per_mac"]
            quoted = f" (CMSIS-NN, issue 17: {cmsis[k]:.2f})" if k in cmsis else ""
            t.add_row(f"{target.label}: instructions per MAC", f"{ipm:.2f}{quoted}" if ipm else "-")
    console.print(t)


def _print_per_op(console, f: dict) -> None:
    """One row per op: MACs, then instructions (and per MAC) for each target; slowest first."""
    from rich.table import Table
    from bedside.bench.engine_m4 import TARGETS
    targets = [k for k in TARGETS if f"{k}_ops" in f]
    if not targets:
        return
    t = Table(title="instructions per op (QEMU -icount; hook overhead excluded)")
    t.add_column("#", justify="right")
    t.add_column("op", no_wrap=True)
    t.add_column("MACs", justify="right")
    for k in targets:
        t.add_column(k, justify="right")
        t.add_column("/MAC", justify="right")
    rows = zip(*(f[f"{k}_ops"] for k in targets))
    for per_target in sorted(rows, key=lambda r: -r[0]["instructions"]):
        first = per_target[0]
        cells = [str(first["index"]), first["op"], str(first["macs"])]
        for r in per_target:
            ipm = r["instructions_per_mac"]
            cells += [str(r["instructions"]), f"{ipm:.2f}" if ipm is not None else "-"]
        t.add_row(*cells)
    console.print(t)
