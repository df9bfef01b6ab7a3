"""The one run-directory convention of every stage: an optional positional RUN_DIR.

    bedside data [RUN_DIR]        # default: a new folder runs/run-<date-time>
    bedside train [RUN_DIR]       # default: the most recent run under runs/
    bedside verify [RUN_DIR] --target host

Later stages default to the most recent run (the run whose `run.json` changed last), so a
session of `bedside data` followed by `bedside train`, `distill`, ... needs no arguments.

`RunPaths(run_dir)` is the one owner of the folder's layout: every stage asks it where a
file lives (docs/architecture.md renders its table), none spells a path itself.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

RUNS = Path("runs")


class NoRunDir(SystemExit):
    """No RUN_DIR given and none to default to: the message says what to pass (exit 2)."""

    def __init__(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        super().__init__(2)


def add_argument(parser: argparse.ArgumentParser, what: str, *, new: bool = False) -> None:
    """RUN_DIR, optional: `new` stages default to a new folder, the others to the latest run."""
    default = ("a new folder runs/run-<date-time>" if new
               else "the most recent run under runs/")
    parser.add_argument("run_dir", nargs="?", type=Path, default=None, metavar="RUN_DIR",
                        help=f"run directory {what} (default: {default})")


def latest(root: Path = RUNS) -> Path | None:
    """The run under `root` whose run.json was written last, or None."""
    runs = [p.parent for p in root.glob("*/run.json")] if root.is_dir() else []
    return max(runs, key=lambda d: RunPaths(d).run_json.stat().st_mtime, default=None)


def resolve(run_dir: Path | None, command: str, *, new: bool = False) -> Path:
    """RUN_DIR as given; else a new run (`new`) or the most recent one, said on stderr."""
    if run_dir is not None:
        return Path(run_dir)
    if new:
        return RUNS / datetime.now().strftime("run-%Y%m%d-%H%M%S")
    found = latest()
    if found is None:
        raise NoRunDir(f"no run directory given and none under {RUNS}/: pass RUN_DIR "
                       f"(`bedside {command} runs/NAME`), or start a run with `bedside data`")
    print(f"bedside {command}: using the most recent run {found} (pass RUN_DIR for another)",
          file=sys.stderr)
    return found


def owned(run_dir: Path, command: str) -> Path:
    """An existing run directory, claimed for writing (bedside.ownership): exit 2 naming it
    when it is missing, not a folder, or a folder bedside did not create."""
    from bedside import ownership
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NoRunDir(f"{run_dir}: {'not a folder' if run_dir.exists() else 'not found'}: "
                       f"`bedside {command}` needs a run directory")
    ownership.claim(run_dir, done_when="run.json")
    return run_dir
@dataclass(frozen=True)
class Int8Paths:
    """The converted model's folder (`RUN_DIR/int8/`): `bedside convert` writes it whole
    (into a temporary folder, then swapped in), so its names are relative to `dir`."""
    dir: Path

    @property
    def tflite(self) -> Path:
        return self.dir / "model.tflite"

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def conversion(self) -> Path:
        return self.dir / "conversion.json"

    @property
    def reference_outputs(self) -> Path:
        return self.dir / "reference_outputs.npz"

    @property
    def gen_dir(self) -> Path:
        return self.dir / "gen"

    @property
    def float_tflite(self) -> Path:
        return self.dir / "model_float.tflite"


# (attribute, path under RUN_DIR, written by, what): the layout, in the order stages write it
LAYOUT = (
    ("run_json", "run.json", "every stage (merged)",
     "config, seed, package versions, per-stage metrics"),
    ("cohort", "data/cohort.npz", "data",
     "raw int16 streams of all patients, splits, event onsets, privileged variables"),
    ("teacher_model", "teacher/model.keras", "train", "the Teacher"),
    ("student_model", "student/model.keras", "distill", "the distilled Student"),
    ("scratch_model", "student_scratch/model.keras", "distill", "the Student without KD"),
    ("evaluation", "evaluation.json", "evaluate, study", "metrics (the seed study under `study`)"),
    ("report", "report.md", "evaluate, study", "the evaluation report"),
    ("study", "study.json", "study", "the seed study alone"),
    ("audit", "audit.json", "audit, evaluate", "the shortcut audit (nuisance variables' AUROC)"),
    ("plots", "plots/", "evaluate", "PNG plots"),
    ("tflite", "int8/model.tflite", "convert", "the int8 model"),
    ("manifest", "int8/manifest.json", "convert", "the run's device contract (docs/manifest.md)"),
    ("conversion", "int8/conversion.json", "convert", "conversion checks and figures"),
    ("reference_outputs", "int8/reference_outputs.npz", "convert",
     "the reference's int8 outputs for the test patients (verify without the TFLM wheel)"),
    ("gen_dir", "int8/gen/", "convert", "generated firmware sources (below)"),
    ("float_tflite", "int8/model_float.tflite", "you (optional)",
     "a float Student as .tflite for `verify --float tflite` (else the Keras Student)"),
    ("firmware_dir(target)", "firmware/<target>[-<backend>]/", "build",
     "build tree, binaries and `identity.json`"),
    ("verify_dir", "verify/", "verify", "`verify.json`, `junit.xml`, `report.md`, plots"),
    ("pio_dir", "pio/", "flash", "the PlatformIO project of `bedside flash` (`platformio.ini`)"),
    ("boards", "boards.json", "bench boards", "every board target's figures"),
    ("safety", "safety.json", "bench safety", "the safety floor, case by case"),
    ("safety_of(target)", "safety-<target>.json", "bench safety --target",
     "the same on an emulated board"),
    ("personalization", "personalization.json", "bench personalization",
     "with vs without on-device personalization"),
    ("personalization_pipeline", "personalization_pipeline.json",
     "bench personalization --pipeline", "the same through the deployed training path"),
    ("personalization_runs", "personalization_pipeline/", "bench personalization --pipeline",
     "one sub-run (a run folder) per arm and cohort"),
)


@dataclass(frozen=True)
class RunPaths:
    """Where each artifact of a run lives (the table above); `root` is RUN_DIR."""
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def cohort(self) -> Path:
        return self.data_dir / "cohort.npz"

    def keras_model(self, name: str) -> Path:
        """A trained model by its stage name: teacher, student (KD), student_scratch."""
        if name not in ("teacher", "student", "student_scratch"):
            raise ValueError(f"no model {name!r} in a run folder")
        return self.root / name / "model.keras"

    @property
    def teacher_model(self) -> Path:
        return self.keras_model("teacher")

    @property
    def student_model(self) -> Path:
        return self.keras_model("student")

    @property
    def scratch_model(self) -> Path:
        return self.keras_model("student_scratch")

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def study(self) -> Path:
        return self.root / "study.json"

    @property
    def audit(self) -> Path:
        return self.root / "audit.json"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def int8(self) -> Int8Paths:
        return Int8Paths(self.root / "int8")

    @property
    def int8_dir(self) -> Path:
        return self.int8.dir

    @property
    def tflite(self) -> Path:
        return self.int8.tflite

    @property
    def manifest(self) -> Path:
        return self.int8.manifest

    @property
    def conversion(self) -> Path:
        return self.int8.conversion

    @property
    def reference_outputs(self) -> Path:
        return self.int8.reference_outputs

    @property
    def gen_dir(self) -> Path:
        return self.int8.gen_dir

    @property
    def float_tflite(self) -> Path:
        return self.int8.float_tflite

    @property
    def firmware_root(self) -> Path:
        return self.root / "firmware"

    def firmware_dir(self, target: str, backend: str = "compiled") -> Path:
        """A target's build tree (other backends than the compiled engine beside it; a
        bench's own build, e.g. `fuzz`, under its name)."""
        return self.firmware_root / (target if backend == "compiled" else f"{target}-{backend}")

    @property
    def verify_dir(self) -> Path:
        return self.root / "verify"

    @property
    def pio_dir(self) -> Path:
        return self.root / "pio"

    @property
    def boards(self) -> Path:
        return self.root / "boards.json"

    @property
    def safety(self) -> Path:
        return self.root / "safety.json"

    def safety_of(self, target: str) -> Path:
        """`bench safety --target T` on an emulated board (host: `safety`)."""
        return self.root / f"safety-{target}.json"

    @property
    def personalization(self) -> Path:
        return self.root / "personalization.json"

    @property
    def personalization_pipeline(self) -> Path:
        return self.root / "personalization_pipeline.json"

    @property
    def personalization_runs(self) -> Path:
        return self.root / "personalization_pipeline"


def layout_table() -> str:
    """LAYOUT as the Markdown table of docs/architecture.md (a test keeps them equal)."""
    rows = ["| path | `RunPaths` | written by | what |", "| --- | --- | --- | --- |"]
    rows += [f"| `{rel}` | `.{attr}` | {by} | {what} |" for attr, rel, by, what in LAYOUT]
    return "\n".join(rows)
