"""`bedside convert [RUN_DIR]`: int8 TFLite Micro model, checks, manifest and firmware sources.

Reads RUN_DIR/run.json, RUN_DIR/student/model.keras and the run's windows; writes
RUN_DIR/int8/{model.tflite, manifest.json, conversion.json, gen/} atomically (a temporary
directory renamed into place), so a failed conversion leaves no partial artifacts.
See docs/converter.md.
"""
from __future__ import annotations

import argparse

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bedside import fileio, jsonout, ownership
from bedside.contract import manifest as mf
from bedside.contract.safety import DEFAULT as SAFETY_DEFAULT
from bedside.version import kit_version
from bedside.rundir import Int8Paths, RunPaths
from bedside import command

PTQ_AUROC_TOLERANCE = 0.005   # above this loss the converter suggests --qat


class ConvertError(ValueError):
    """A bad input to the converter; the message names the file, field or op."""


def add_arguments(parser) -> None:
    from bedside import rundir
    rundir.add_argument(parser, "(after bedside distill)")
    parser.add_argument("--backend", choices=("both", "tflm"), default="both",
                        help="backends the model must run on: both (compiled and tflm, "
                             "default) or tflm only (allows ops the compiled engine lacks)")
    parser.add_argument("--from-tflite", metavar="MODEL.tflite",
                        help="use this int8 .tflite instead of quantizing the Student "
                             "(the Student, if present, is still the float reference)")
    parser.add_argument("--qat", action="store_true",
                        help="quantization-aware fine-tuning (weight fake-quant) before PTQ; "
                             "ships the QAT model and reports PTQ and QAT")
    parser.add_argument("--multiplier-derivation", choices=("float64", "float32-product"),
                        default="float64",
                        help="FULLY_CONNECTED multipliers of the compiled engine: float64 (as "
                             "the tflite-micro wheel that verify uses, default) or "
                             "float32-product (as TFLM's C++ of 2026-08-20); recorded in the "
                             "manifest's `reference`")
    jsonout.add_argument(parser)


def run(args: argparse.Namespace) -> int:
    return command.call(convert, args)


def convert(run_dir: Path | None = None, *, backend: str = "both",
            from_tflite: str | None = None, qat: bool = False,
            multiplier_derivation: str = "float64", json: str | None = None) -> int:
    """int8 model, manifest and generated sources for RUN_DIR: `bedside convert` as a
    function (exit code; errors are one line on stderr)."""
    args = command.namespace(add_arguments, 'convert', **locals())
    # TensorFlow's C++ start-up chatter hides the converter's own output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .quantize import QuantizeError
    from .engine import TFLiteFormatError
    from .opset import OpSetError
    from bedside.reference.tflm import TflmError
    from bedside import rundir
    run_dir = rundir.resolve(args.run_dir, "convert")
    try:
        out_dir = convert_run(run_dir, backend=args.backend, from_tflite=args.from_tflite,
                              qat=args.qat, derivation=args.multiplier_derivation)
    except (ConvertError, QuantizeError, TFLiteFormatError, OpSetError, TflmError,
            mf.ManifestError) as e:
        print(f"bedside convert: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:       # a folder not bedside's, RUN_DIR not writable, disk full
        print(f"bedside convert: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    jsonout.emit(args, result(out_dir))
    return 0


def result(int8_dir: Path) -> dict:
    """What `--json` prints: the files written and the conversion report (conversion.json)."""
    files = Int8Paths(int8_dir)
    return {"int8_dir": str(files.dir), "tflite": str(files.tflite),
            "manifest": str(files.manifest), "gen_dir": str(files.gen_dir),
            "reference_outputs": (str(files.reference_outputs)
                                  if files.reference_outputs.is_file() else None),
            "conversion": json.loads(files.conversion.read_text())}


# --- inputs ----------------------------------------------------------------------------

def read_run_config(run_dir: Path) -> dict:
    """window, alarm, horizon_min and seed from run.json (top level or under 'config')."""
    path = RunPaths(run_dir).run_json
    if not run_dir.is_dir():
        raise ConvertError(f"{run_dir}: run directory not found")
    if not path.is_file():
        raise ConvertError(f"{path}: not found (is {run_dir} a run directory?)")
    try:
        run = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConvertError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): "
                           f"{e.msg}")
    cfg = run.get("config", run) if isinstance(run, dict) else None
    if not isinstance(cfg, dict):
        raise ConvertError(f"{path}: top level must be an object")

    def need(obj, key, where, kind):
        if not isinstance(obj, dict) or key not in obj:
            raise ConvertError(f"{path}: missing field '{where}{key}'")
        v = obj[key]
        if kind is int and not (isinstance(v, int) and not isinstance(v, bool)):
            raise ConvertError(f"{path}: field '{where}{key}' must be an integer, got {v!r}")
        if kind is float and not isinstance(v, (int, float)):
            raise ConvertError(f"{path}: field '{where}{key}' must be a number, got {v!r}")
        return v

    window = {"length": need(cfg.get("window"), "length", "window.", int),
              "stride": need(cfg.get("window"), "stride", "window.", int)}
    alarm = cfg.get("alarm")
    alarm = {"threshold": float(need(alarm, "threshold", "alarm.", float)),
             "off_threshold": float(need(alarm, "off_threshold", "alarm.", float)),
             "min_duration": need(alarm, "min_duration", "alarm.", int)}
    if not 0 < alarm["off_threshold"] <= alarm["threshold"] < 1:
        raise ConvertError(f"{path}: field 'alarm' needs 0 < off_threshold <= threshold < 1")
    if window["length"] < 1 or window["stride"] < 1 or alarm["min_duration"] < 1:
        raise ConvertError(f"{path}: window length/stride and alarm.min_duration must be >= 1")
    seed = cfg.get("seed", run.get("seed", 0))
    return {"window": window, "alarm": alarm,
            "horizon_min": need(cfg, "horizon_min", "", float),
            "seed": int(seed) if isinstance(seed, int) else 0,
            "personalization": cfg.get("personalization"),
            "safety": cfg.get("safety", SAFETY_DEFAULT)}


def _personalization(cfg: dict) -> dict | None:
    """The run's personalization settings for the manifest (None = off)."""
    from bedside.contract.personalize import PersonalizationError, normalize
    try:
        return normalize(cfg.get("personalization"))
    except PersonalizationError as e:
        raise ConvertError(f"run.json config: {e}")


def _safety(cfg: dict) -> dict | None:
    """The run's safety floor for the manifest: run.json config `safety`, the defaults of
    bedside/contract/safety.py when absent, off when null."""
    from bedside.contract.safety import SafetyError, normalize
    try:
        return normalize(cfg["safety"])
    except SafetyError as e:
        raise ConvertError(f"run.json config: {e}")


def load_split(run_dir: Path, split: str):
    """(x_q int8 [N, L, C], labels [N], patient [N]) of one split."""
    import numpy as np
    from bedside.sources.windows import window_dataset
    try:
        res = window_dataset(run_dir, split)
    except Exception as e:  # noqa: BLE001 - the dataset reader names the file in its message
        raise ConvertError(f"{run_dir}: cannot read the '{split}' windows of the run's data "
                           f"({type(e).__name__}: {e})")
    if isinstance(res, dict):
        x, y, pat = res["x_q"], res["labels"], res["patient_idx"]
    elif hasattr(res, "x_q"):
        x, y, pat = res.x_q, res.labels, res.patient_idx
    else:
        x, y, pat = res[0], res[1], res[2]
    x = np.asarray(x)
    if x.dtype != np.int8 or x.ndim != 3:
        raise ConvertError(f"{run_dir}: '{split}' windows must be int8 [N, L, C], got "
                           f"{x.dtype} {list(x.shape)}")
    return x, np.asarray(y).reshape(-1), np.asarray(pat).reshape(-1)


def check_keras_input(model, path: Path, window: dict) -> None:
    from bedside.contract.signals import N_SIGNALS
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ConvertError(f"{path}: the model has {len(shape)} inputs; the kit needs one")
        shape = shape[0]
    want = (None, window["length"], N_SIGNALS)
    if tuple(shape) != want:
        raise ConvertError(f"{path}: model input shape {tuple(shape)} does not match the "
                           f"manifest window {want} (run.json window.length = "
                           f"{window['length']}, {N_SIGNALS} signals)")


# --- provenance --------------------------------------------------------------------------

def tool_versions() -> dict:
    import platform
    from importlib import metadata
    out = {"bedside-kit": kit_version(), "python": platform.python_version()}
    for dist in ("tensorflow-cpu", "tensorflow", "keras", "tflite-micro", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def command_line(backend: str, from_tflite: str | None, qat: bool,
                 derivation: str = "float64") -> str:
    """The command, with paths reduced to placeholders so output does not depend on them."""
    parts = ["bedside", "convert", "RUN_DIR"]
    if backend != "both":
        parts += ["--backend", backend]
    if from_tflite:
        parts += ["--from-tflite", Path(from_tflite).name]
    if qat:
        parts.append("--qat")
    if derivation != "float64":
        parts += ["--multiplier-derivation", derivation]
    return " ".join(parts)


# --- the conversion ------------------------------------------------------------------------

def _engine_generate(model: bytes, gen_dir: Path, backend: str, notes: list[str],
                     command: str, compiled_unsupported: bool, derivation: str):
    """Call bedside.converter.engine.generate when the compiled engine generator is present."""
    try:
        from . import engine
    except ImportError:
        engine = None
    gen = getattr(engine, "generate", None) if engine is not None else None
    if compiled_unsupported:
        notes.append("compiled backend not generated (ops above); the model runs on the "
                     "tflm backend")
        return None
    if gen is None:
        notes.append("compiled engine generator (bedside.converter.engine.generate) not available: "
                     "model_engine.* not generated")
        return None
    try:
        info = gen(model, gen_dir, command=command, derivation=derivation)
    except Exception as e:  # noqa: BLE001 - reported with the engine's own message
        if backend == "both":
            raise ConvertError(f"compiled engine generator failed: {e} "
                               "(use --backend tflm to convert for the TFLM backend only)")
        notes.append(f"compiled backend unavailable for this model: {e}")
        for name in ("model_engine.h", "model_engine.cc"):
            (gen_dir / name).unlink(missing_ok=True)
        return None
    info = dict(info) if isinstance(info, dict) else dict(vars(info))
    return {k: info[k] for k in ("arena_bytes", "weight_bytes", "macs") if k in info}


def _check_model(tflite: bytes, source: str, window: dict):
    """Parse and check an int8 candidate; returns its tflite_reader.Model."""
    from bedside.contract.signals import N_SIGNALS

    from .quantize import check_input_quantization
    from .engine import EngineError, TFLiteFormatError, read_model
    from .engine.validate import check_model
    from .quantize import check_int8_io
    try:
        info = read_model(tflite)
        check_model(info)       # before TFLM sees it: TFLM aborts on some malformed models
    except TFLiteFormatError as e:
        what = "" if str(e).startswith("not a TFLite flatbuffer") else "corrupt TFLite flatbuffer: "
        raise ConvertError(f"{source}: {what}{e}") from None
    except EngineError as e:
        raise ConvertError(f"{source}: {e}") from None
    check_int8_io(info, source)
    t_in, t_out = info.input_tensors[0], info.output_tensors[0]
    if list(t_in.shape) != [1, window["length"], N_SIGNALS]:
        raise ConvertError(f"{source}: input tensor shape {t_in.shape} does not match the "
                           f"manifest window [1, {window['length']}, {N_SIGNALS}] "
                           "(run.json window.length)")
    check_input_quantization(t_in.scale, t_in.zero_point, source)
    if t_out.nbytes != 1:
        raise ConvertError(f"{source}: output tensor shape {t_out.shape}; the kit's alarm "
                           "needs one probability (shape [1, 1])")
    return info


def _alarm_q(alarm_cfg: dict, t_out) -> dict:
    from bedside.contract.alarm import prob_to_q
    alarm = dict(alarm_cfg)
    alarm["on_q"] = prob_to_q(alarm["threshold"], t_out.scale, t_out.zero_point)
    alarm["off_q"] = prob_to_q(alarm["off_threshold"], t_out.scale, t_out.zero_point)
    return alarm


def _alarm_resolution_notes(alarm: dict, t_out) -> list[str]:
    """Warn when the int8 output is too coarse for the alarm thresholds."""
    on_p = (alarm["on_q"] - t_out.zero_point) * t_out.scale
    off_p = (alarm["off_q"] - t_out.zero_point) * t_out.scale
    notes = []
    if alarm["on_q"] == alarm["off_q"] and alarm["off_threshold"] < alarm["threshold"]:
        notes.append(f"alarm hysteresis is lost at int8: threshold {alarm['threshold']:.4g} and "
                     f"off_threshold {alarm['off_threshold']:.4g} both map to q = "
                     f"{alarm['on_q']} (p >= {on_p:.4g}; output step {t_out.scale:.4g})")
    if alarm["threshold"] < 4 * t_out.scale:
        notes.append(f"alarm threshold {alarm['threshold']:.4g} is within 4 output steps "
                     f"({t_out.scale:.4g}) of zero: the device alarms at p >= {on_p:.4g}, "
                     f"turns off below {off_p:.4g}")
    return notes


def _evaluate(tflite, info, alarm, test, p_float, console, label):
    """TFLM int8 over the test split, compared with the float Student when there is one."""
    from rich.progress import Progress

    from . import tflm_check
    x_test, y_test, p_test = test
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"TFLM int8 ({label}) over the test split",
                                 total=len(x_test))
        q_test = tflm_check.run_int8(tflite, x_test, lambda n: progress.advance(task, n))
    if p_float is None:
        return None
    t_out = info.output_tensors[0]
    return tflm_check.compare(p_float, q_test, y_test, p_test, t_out.scale, t_out.zero_point,
                              alarm)


def convert_run(run_dir: Path, backend: str = "both", from_tflite: str | None = None,
                qat: bool = False, console=None, derivation: str = "float64") -> Path:
    """Convert RUN_DIR's Student; returns RUN_DIR/int8. Raises on bad input."""
    from rich.console import Console

    from . import opset, tflm_check

    console = console or Console(stderr=True)
    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    if qat and from_tflite:
        raise ConvertError("--qat fine-tunes the Student; it cannot be combined with "
                           "--from-tflite")

    tflite = None
    if from_tflite:       # check a given model before the slow TensorFlow import
        src = Path(from_tflite)
        if not src.is_file():
            raise ConvertError(f"{src}: .tflite file not found")
        tflite = src.read_bytes()
        source, conv_path = str(src), "given"
        _check_model(tflite, source, cfg["window"])

    keras_path = RunPaths(run_dir).student_model
    model = None
    if keras_path.is_file() or not from_tflite:
        if not keras_path.is_file():
            raise ConvertError(f"{keras_path}: not found (run `bedside distill` first)")
        from .quantize import load_keras
        with console.status("loading the Student"):
            model = load_keras(keras_path)
        check_keras_input(model, keras_path, cfg["window"])

    if tflite is None:
        from .quantize import calibration_windows, quantize
        train = load_split(run_dir, "train")
        calib = calibration_windows(train[0], cfg["seed"])
        with console.status(f"quantizing (calibration: {len(calib)} windows)"):
            tflite, conv_path = quantize(model, calib)
        source = f"{keras_path} (quantized)"

    info = _check_model(tflite, source, cfg["window"])
    layer_names = [layer.name for layer in model.layers] if model is not None else []
    notes = opset.check(info, layer_names, need_compiled=(backend == "both"))
    alarm = _alarm_q(cfg["alarm"], info.output_tensors[0])

    test = load_split(run_dir, "test")
    p_float = None
    if model is not None:
        from bedside.contract.preprocess import to_model_input
        p_float = model.predict(to_model_input(test[0]), batch_size=1024, verbose=0)
    metrics = _evaluate(tflite, info, alarm, test, p_float, console, "PTQ")
    qat_report = {"requested": qat}
    if qat:
        from . import qat as qat_mod
        with console.status(f"QAT: {qat_mod.EPOCHS} epochs of weight fake-quant fine-tuning"):
            tuned = qat_mod.finetune(model, train[0], train[1], cfg["seed"])
            tflite_qat, _ = quantize(tuned, calib)
        src_qat = f"{keras_path} (QAT fine-tuned, quantized)"
        info_qat = _check_model(tflite_qat, src_qat, cfg["window"])
        notes = opset.check(info_qat, layer_names, need_compiled=(backend == "both"))
        alarm_qat = _alarm_q(cfg["alarm"], info_qat.output_tensors[0])
        qat_report.update(method="weight fake-quant fine-tune (per-channel int8, STE)",
                          epochs=qat_mod.EPOCHS, learning_rate=qat_mod.LEARNING_RATE,
                          metrics=_evaluate(tflite_qat, info_qat, alarm_qat, test, p_float,
                                            console, "QAT"))
        # the user asked for QAT: ship it; PTQ stays in the report for comparison
        tflite, info, alarm, conv_path = tflite_qat, info_qat, alarm_qat, conv_path + "+qat"
    compiled_unsupported = bool(notes)       # opset.check's notes: ops only TFLM runs
    notes += _alarm_resolution_notes(alarm, info.output_tensors[0])
    arena_tflm = tflm_check.arena_used_bytes(tflite)
    out_dir = _write_artifacts(run_dir, cfg, tflite, info, alarm, arena_tflm, metrics, notes,
                               backend, command_line(backend, from_tflite, qat, derivation),
                               conv_path, console, qat_report, compiled_unsupported, derivation)
    _store_reference(run_dir, console)
    return out_dir


def _store_reference(run_dir: Path, console) -> None:
    """The reference's outputs for the run's test patients (bedside/reference/stored.py):
    a bench PC without the TFLM wheel verifies the run against them."""
    from bedside.sources import streams as sources
    from bedside.reference import stored as stored_reference
    from bedside.reference.pipeline import Contract
    try:
        streams, desc = sources.default(run_dir)
    except sources.SourceError:
        return            # no cohort in the run: verifying it will need the TFLM wheel
    path = stored_reference.write(Contract.from_run(run_dir), streams)
    console.print(f"reference outputs for {desc} -> {path}")


def _write_artifacts(run_dir, cfg, tflite, info, alarm, arena_tflm, metrics, notes, backend,
                     command, conv_path, console, qat_report, compiled_unsupported,
                     derivation) -> Path:
    from . import gen_sources
    from .engine.quant import reference
    sha = hashlib.sha256(tflite).hexdigest()
    out_dir = RunPaths(run_dir).int8_dir
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=run_dir))
    new = Int8Paths(tmp)        # the folder as it will be, written whole, then swapped in
    try:
        new.tflite.write_bytes(tflite)
        gen_dir = new.gen_dir
        gen_dir.mkdir()
        engine = _engine_generate(tflite, gen_dir, backend, notes, command,
                                  compiled_unsupported, derivation)
        arena_compiled = engine.get("arena_bytes") if engine else None
        backends = ["tflm"] + (["compiled"] if (gen_dir / "model_engine.cc").exists() else [])
        model_block = {
            "file": new.tflite.name, "sha256": sha, "bytes": len(tflite),
            "ops": info.op_versions(),
            "input": info.input_tensors[0].as_dict(), "output": info.output_tensors[0].as_dict(),
            "arena_bytes_tflm": arena_tflm,
            "arena_bytes_tflm_firmware": gen_sources.tflm_arena_bytes(arena_tflm),
            "arena_bytes_compiled": arena_compiled,
            "backends": sorted(backends),
            "quantization": ("given" if conv_path == "given" else
                             "qat" if conv_path.endswith("+qat") else "ptq"),
        }
        generator = {"command": command, "kit_version": kit_version()}
        alarm["safety"] = _safety(cfg)
        manifest = mf.build_manifest(window=cfg["window"], alarm=alarm,
                                     horizon_min=cfg["horizon_min"], model=model_block,
                                     versions=tool_versions(), generator=generator,
                                     seed=cfg["seed"],
                                     personalization=_personalization(cfg),
                                     reference=reference(derivation))
        gen_files = gen_sources.write_all(gen_dir, manifest, tflite, command)
        report = {
            "model": {"sha256": sha, "bytes": len(tflite), "ops": model_block["ops"],
                      "conversion": conv_path},
            "arena_bytes_tflm": arena_tflm,
            "arena_bytes_compiled": arena_compiled,
            "compiled_engine": engine,
            "quantization": {"input": model_block["input"], "output": model_block["output"]},
            "alarm": alarm,
            "shipped": model_block["quantization"],
            "checks": (qat_report.get("metrics") if qat_report.get("requested") else metrics),
            "ptq": None if conv_path == "given" else metrics,
            "ptq_auroc_tolerance": PTQ_AUROC_TOLERANCE,
            "qat": qat_report,
            "backends": sorted(backends),
            "notes": notes,
            "generated": sorted(gen_files + [p.name for p in gen_dir.iterdir()
                                             if p.name not in gen_files]),
        }
        fileio.write_json(new.manifest, manifest)
        fileio.write_json(new.conversion, report)
        mf.load_manifest(new.manifest)        # what we wrote must read back
        ownership.replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _print_summary(console, report, out_dir)
    return out_dir


def _print_summary(console, report: dict, out_dir: Path) -> None:
    def f(x):
        return "n/a" if x is None else f"{x:.4f}"

    def line(name, m):
        console.print(f"{name} on the test split ({m['windows']} windows): AUROC float "
                      f"{f(m['auroc_float'])}, int8 {f(m['auroc_int8'])} (delta "
                      f"{f(m['auroc_delta'])}); max |dp| {m['max_abs_prob_diff']:.4f}; "
                      f"decisions differing {m['decision_mismatch_frac']:.4%}, alarm states "
                      f"differing {m['alarm_state_mismatch_frac']:.4%}")

    ops = ", ".join(f"{o['name']}/v{o['version']}" for o in report["model"]["ops"])
    console.print(f"[bold]int8 model[/] ({report['shipped']}): {report['model']['bytes']} "
                  f"bytes, sha256 {report['model']['sha256'][:16]}…, ops: {ops}")
    console.print(f"TFLM arena used: {report['arena_bytes_tflm']} bytes; compiled engine "
                  f"arena: {report['arena_bytes_compiled']}")
    ptq, qat = report["ptq"], report["qat"].get("metrics")
    if ptq is not None:
        line("PTQ", ptq)
    if qat is not None:
        line("QAT (shipped)", qat)
    if report["shipped"] == "given" and report["checks"] is not None:
        line("given model", report["checks"])
    d = ptq["auroc_delta"] if ptq else None
    if qat is None and d is not None and d < -PTQ_AUROC_TOLERANCE:
        console.print(f"[yellow]warning[/]: PTQ lost {-d:.4f} AUROC (more than "
                      f"{PTQ_AUROC_TOLERANCE}); try `bedside convert RUN_DIR --qat`")
    for note in report["notes"]:
        console.print(f"[yellow]note[/]: {note}")
    done = Int8Paths(out_dir)
    console.print(f"wrote {out_dir}/: {done.tflite.name}, {done.manifest.name}, "
                  f"{done.conversion.name}, {done.gen_dir.name}/ "
                  f"({', '.join(report['generated'])})")
