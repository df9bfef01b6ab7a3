"""The hostile-input corpus: every CLI command against inputs made to break it.

    cases = generate(run_dir, work)         # one sandbox folder per case under `work`
    results = [run_case(c) for c in cases]  # each in a fresh interpreter, memory-limited
    summary(results)                        # cases / passed per command and per class

`run_dir` is a converted run with its host firmware built (RUN_DIR/firmware/host); each
case copies what it needs into its own sandbox, so the original is never touched. A case
passes when the command exits with a code of its command's row in EXIT_CODES (and the
case's own expected code), prints no traceback, says why in one line when it fails, and
changes no file outside the folders it may write (every file of the sandbox hashed before
and after). Run by tests/hostile/ (CI) and by `bedside bench reliability` (probes).
docs/reliability.md lists the classes and the exit-code table.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bedside.rundir import RunPaths

ROOT = Path(__file__).resolve().parents[2]

# Exit codes each command may return (docs/reliability.md): 0 done; 1 ran and found a
# failure (verify: mismatch; build: compiler error; bench: a check failed); 2 bad input,
# a refused folder, or a place that cannot be written (full disk, read-only);
# verify: 3 link error, 4-7 refused device, 8 silent device; 130 interrupted.
EXIT_CODES: dict[str, set[int]] = {
    "data": {0, 2}, "train": {0, 2}, "distill": {0, 2}, "evaluate": {0, 2}, "study": {0, 2},
    "convert": {0, 2}, "build": {0, 1, 2}, "flash": {0, 1, 2}, "emulate": {0, 1, 2, 3},
    "verify": {0, 1, 2, 3, 4, 5, 6, 7, 8}, "monitor": {0, 2, 3}, "ports": {0, 2},
    "bench": {0, 1, 2}, "demo": {0, 1, 2, 3, 4, 5, 6, 7, 8},
}
MEMORY_LIMIT = 3 << 30          # address space of each command: a blow-up fails fast
CASE_TIMEOUT_S = 120


@dataclass
class Case:
    name: str
    kind: str                     # the class of hostile input (docs/reliability.md)
    argv: list[str]
    sandbox: Path
    expect: set[int]              # exit codes this case accepts (within EXIT_CODES)
    may_write: list[str] = field(default_factory=list)   # sandbox-relative folders
    fsize: int | None = None      # RLIMIT_FSIZE (disk full)
    forbid: list[str] = field(default_factory=list)      # paths that must not exist after
    keep: list[str] = field(default_factory=list)        # files that must stay unchanged

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv[0] != "bench" else f"bench {self.argv[1]}"


# --- the sandbox ------------------------------------------------------------------------

def _copy_run(src: Path, dst: Path, firmware: bool = False) -> Path:
    """The run's files a command reads (not its build trees), plus the host binary."""
    skip = shutil.ignore_patterns("firmware", "verify", ".int8.*", "*.tmp")
    shutil.copytree(src, dst, ignore=skip, symlinks=True)
    if firmware:
        host = src / "firmware" / "host"
        (dst / "firmware" / "host").mkdir(parents=True)
        for name in ("bedside-firmware", "identity.json"):
            if (host / name).exists():
                shutil.copy2(host / name, dst / "firmware" / "host" / name)
    return dst


def snapshot(root: Path) -> dict[str, str]:
    """Every path below root: a file's SHA-256, a link's target, 'dir' for a folder."""
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                try:
                    out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
                except OSError as e:
                    out[rel] = f"unreadable:{e.errno}"
    return out


def _manifest(run: Path) -> dict:
    return json.loads(RunPaths(run).manifest.read_text())


def _put_manifest(run: Path, m, raw: str | None = None) -> None:
    RunPaths(run).manifest.write_text(raw if raw is not None else json.dumps(m))


def _npz(path: Path, **arrays) -> None:
    import numpy as np
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _rows(path: Path) -> Path:
    path.write_text("patient_id,time_min,hr\n" + "".join(f"p{i},{t},80\n" for i in range(4)
                                                          for t in range(300)))
    return path


def _cohort_arrays(run: Path) -> dict:
    import numpy as np
    with np.load(RunPaths(run).cohort, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --- the corpus -------------------------------------------------------------------------

def generate(run_dir: Path, work: Path) -> list[Case]:
    """Every case, each in work/<name> (made fresh)."""
    import numpy as np
    run_dir, work = Path(run_dir).resolve(), Path(work).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cases: list[Case] = []

    def case(name, kind, argv, expect=(2,), may_write=(), run=False, firmware=False,
             fsize=None, forbid=(), keep=()) -> tuple[Path, Path]:
        box = work / name
        box.mkdir()
        r = _copy_run(run_dir, box / "run", firmware) if run or firmware else box / "run"
        cases.append(Case(name, kind, [str(a) for a in argv(box, r)], box, set(expect),
                          list(may_write), fsize, list(forbid), list(keep)))
        return box, r

    # --- shell metacharacters in paths handed to the toolchain
    for i, bad in enumerate(("x`touch PWNED`", "x'q", 'x"q', "x;touch PWNED", "x\nq",
                             "x$(touch PWNED)")):
        case(f"build-path-{i}", "shell metacharacters in a path",
             lambda b, r, bad=bad: ["build", r, "--build-dir", b / bad], run=True,
             forbid=["PWNED", "run/PWNED"])
    def flash_path(b, r):
        bad = b / "r`touch PWNED`"
        r.rename(bad)
        return ["flash", bad, "--env", "native", "--dry-run"]
    case("flash-gen-path", "shell metacharacters in a path", flash_path, run=True,
         forbid=["PWNED"])

    # --- folders bedside did not create
    def foreign(box: Path, rel: str) -> Path:
        d = box / rel
        d.mkdir(parents=True)
        (d / "thesis.txt").write_text("the user's file\n")
        return d
    case("demo-foreign", "folder bedside did not create",
         lambda b, r: ["demo", "--quick", foreign(b, "mine")])
    case("data-foreign", "folder bedside did not create",
         lambda b, r: ["data", "--quick", foreign(b, "mine")])
    case("build-foreign", "folder bedside did not create",
         lambda b, r: ["build", r, "--build-dir", foreign(b, "mk")], run=True)
    case("verify-out-foreign", "folder bedside did not create",
         lambda b, r: ["verify", r, "--target", "host", "--out", foreign(b, "rep")],
         firmware=True)
    case("bench-reliability-foreign", "folder bedside did not create",
         lambda b, r: ["bench", "reliability", foreign(b, "mine"), "--no-probes"])
    case("study-foreign", "folder bedside did not create",
         lambda b, r: ["study", foreign(b, "mine"), "--quick"])

    # --- a user's files inside folders bedside made: kept, never replaced or deleted
    def with_user_files(box: Path, r: Path) -> Path:
        (r / "verify").mkdir(exist_ok=True)
        (r / "verify" / ".bedside-made").write_text("{}\n")
        (r / "verify" / "notes.txt").write_text("mine\n")
        (r / "verify" / "sub").mkdir()
        (r / "verify" / "sub" / "data.csv").write_text("a,b\n")
        return r
    case("verify-keeps-user-files", "a user's files in a marked folder",
         lambda b, r: ["verify", with_user_files(b, r), "--target", "host",
                       "--max-patients", "1", "--no-plots", "--float", "none"],
         expect=(0,), may_write=["run/verify"], firmware=True,
         keep=["run/verify/notes.txt", "run/verify/sub/data.csv"])

    def clash(box: Path, r: Path) -> Path:
        (r / "verify").mkdir(exist_ok=True)
        (r / "verify" / ".bedside-made").write_text("{}\n")
        (r / "verify" / "report.md").write_text("my own report\n")
        return r
    case("verify-user-file-clash", "a user's files in a marked folder",
         lambda b, r: ["verify", clash(b, r), "--target", "host", "--max-patients", "1",
                       "--no-plots", "--float", "none"], expect=(2,), firmware=True)

    # --- a plain file where a run directory belongs
    for cmd in ("data", "train", "distill", "evaluate", "study", "convert", "build",
                "verify"):
        def argv(b, r, cmd=cmd):
            f = b / "file"
            f.write_text("not a folder\n")
            return [cmd, f] + (["--quick"] if cmd in ("data", "train", "distill", "evaluate")
                               else ["--target", "host"] if cmd == "verify" else [])
        case(f"{cmd}-file-as-run", "a file as RUN_DIR", argv)
    for bench in ("safety", "personalization", "boards"):
        def argv(b, r, bench=bench):
            f = b / "file"
            f.write_text("not a folder\n")
            return ["bench", bench, f]
        case(f"bench-{bench}-file-as-run", "a file as RUN_DIR", argv)

    # --- manifests: non-finite, out of range, wrong type, traversal, nesting, size
    def manifest_case(name, edit, cmd=("verify",), extra=(), kind="manifest field"):
        def argv(b, r):
            m = _manifest(r)
            raw = edit(m, r)
            _put_manifest(r, m, raw)
            base = list(cmd) + [r]
            if cmd[0] == "verify":
                base += ["--target", "host"]
            return base + list(extra)
        case(name, kind, argv, firmware=True)
    nan = float("nan")
    manifest_case("manifest-period-nan", lambda m, r: m.update(sample_period_s=nan),
                  extra=["--speed", "100"])
    manifest_case("manifest-period-inf", lambda m, r: m.update(sample_period_s=float("inf")),
                  extra=["--speed", "100"])
    manifest_case("manifest-period-negative", lambda m, r: m.update(sample_period_s=-60),
                  extra=["--speed", "100"])
    manifest_case("manifest-scale-nan", lambda m, r: m["model"]["input"].update(scale=nan))
    manifest_case("manifest-sha-number", lambda m, r: m["model"].update(sha256=12345))
    manifest_case("manifest-file-absolute",
                  lambda m, r: m["model"].update(file=str(RunPaths(r).cohort)),
                  kind="path traversal through the manifest")
    manifest_case("manifest-file-dotdot",
                  lambda m, r: m["model"].update(file="../../../../../../etc/passwd"),
                  kind="path traversal through the manifest")
    manifest_case("manifest-bytes-huge",
                  lambda m, r: m["model"]["input"].update(bytes=10 ** 15),
                  kind="huge counts in headers")

    def deep(m, r):
        return '{"a":' * 100000 + "1" + "}" * 100000
    manifest_case("manifest-deep-verify", deep, kind="deeply nested file")
    manifest_case("manifest-deep-safety", deep, cmd=("bench", "safety"),
                  kind="deeply nested file")
    manifest_case("manifest-nested-32", lambda m, r: m.update(
        extra=json.loads('{"a":' * 40 + "1" + "}" * 40)), kind="deeply nested file")
    manifest_case("manifest-too-big", lambda m, r: m.update(pad="x" * (2 << 20)),
                  kind="huge counts in headers")

    def truncated(m, r):
        t = RunPaths(r).tflite
        data = t.read_bytes()[:3000]
        t.write_bytes(data)
        m["model"]["sha256"] = hashlib.sha256(data).hexdigest()
    manifest_case("model-truncated-hash-updated", truncated, kind="truncated model")

    def model_link(m, r):
        t = RunPaths(r).tflite
        outside = r.parent / "outside.bin"
        outside.write_bytes(t.read_bytes())
        t.unlink()
        t.symlink_to(outside)
    manifest_case("model-symlink-out", model_link, kind="symlinks")

    # --- cohort .npz: rank, width, dtype, offsets, headers, not a zip
    def cohort_case(name, edit, cmd="verify", kind="cohort file"):
        def argv(b, r):
            a = _cohort_arrays(r)
            path = RunPaths(r).cohort
            if edit(a, path) is not False:
                _npz(path, **a)
            return [cmd, r] + (["--target", "host"] if cmd == "verify" else ["--quick"])
        case(name, kind, argv, firmware=cmd == "verify", run=True)
    cohort_case("cohort-raw-rank", lambda a, p: a.update(raw=a["raw"].reshape(-1)))
    cohort_case("cohort-raw-width", lambda a, p: a.update(raw=a["raw"][:, :5].copy()))
    cohort_case("cohort-raw-dtype", lambda a, p: a.update(raw=a["raw"].astype(np.float64)))
    cohort_case("cohort-offsets-negative",
                lambda a, p: a["offsets"].__setitem__(1, -5))
    cohort_case("cohort-offsets-past-end",
                lambda a, p: a["offsets"].__setitem__(-1, a["offsets"][-1] + 10 ** 9))
    cohort_case("cohort-raw-rank-train", lambda a, p: a.update(raw=a["raw"].reshape(-1)),
                cmd="train")
    cohort_case("cohort-offsets-evaluate",
                lambda a, p: a["offsets"].__setitem__(1, -5), cmd="evaluate")

    def not_zip(a, p):
        p.write_bytes(b"PK\x03\x04" + os.urandom(200))
        return False
    cohort_case("cohort-not-zip", not_zip)

    def huge_header(a, p):
        # a member whose zip directory claims far more than the limit (zip bomb shape)
        import zipfile
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("raw.npy", b"\0" * (1 << 20))
        data = bytearray(p.read_bytes())
        cd = data.rfind(b"PK\x01\x02")
        data[cd + 24:cd + 28] = (0xFFFFFFF0).to_bytes(4, "little")   # uncompressed size
        p.write_bytes(bytes(data))
        return False
    cohort_case("cohort-huge-header", huge_header, kind="huge counts in headers")

    # --- CSV inputs: memory blow-up, BOM, encoding, non-finite
    def csv_case(name, content: bytes, expect=(2,), kind="CSV input", may=()):
        def argv(b, r):
            f = b / "in.csv"
            f.write_bytes(content)
            return ["data", b / "new", "--source", "csv", "--input", f]
        case(name, kind, argv, expect=expect, may_write=list(may))
    rows = b"".join(b"p%d,86399,80\n" % i for i in range(3000))
    csv_case("csv-span-blowup", b"patient_id,time_min,hr\n" + rows, kind="memory blow-up")
    csv_case("csv-bom", b"\xef\xbb\xbfpatient_id,time_min,hr\n"
             + b"".join(b"p%d,%d,80\n" % (i, t) for i in range(3) for t in range(200)),
             expect=(0,), may=["new"], kind="byte-order mark")
    csv_case("csv-bad-utf8", b"patient_id,time_min,hr\np1,0,80\np\xe91,1,80\n")
    csv_case("csv-inf", b"patient_id,time_min,hr\np1,0,80\np1,1,inf\n")
    csv_case("csv-binary", os.urandom(4096))
    csv_case("csv-time-huge", b"patient_id,time_min,hr\np1,99999999999999,80\n",
             kind="huge counts in headers")

    # --- run.json
    def runjson(name, text):
        def argv(b, r):
            RunPaths(r).run_json.write_text(text)
            return ["convert", r]
        case(name, "run.json", argv, run=True)
    runjson("runjson-deep", "[" * 100000 + "]" * 100000)
    runjson("runjson-not-object", "[1, 2]")

    # --- symlinks
    def link_out(b, r):
        target = b / "elsewhere"
        target.mkdir()
        (b / "rep").symlink_to(target)
        return ["verify", r, "--target", "host", "--out", b / "rep"]
    case("verify-out-symlink", "symlinks", link_out, firmware=True)

    def link_build(b, r):
        target = b / "elsewhere"
        target.mkdir()
        (target / "keep.txt").write_text("x\n")
        (b / "bd").symlink_to(target)
        return ["build", r, "--build-dir", b / "bd"]
    case("build-dir-symlink", "symlinks", link_build, run=True)

    # --- read-only folders, disk full
    def read_only(b, r):
        d = b / "ro"
        d.mkdir()
        d.chmod(0o555)
        return ["data", "--quick", d / "new"]
    # as root the folder is writable anyway: then the run is made (exit 0) in it
    case("data-read-only-parent", "read-only folder", read_only, expect=(0, 2),
         may_write=["ro"])
    case("data-disk-full", "disk full (RLIMIT_FSIZE)",
         lambda b, r: ["data", "--quick", b / "new"], fsize=16 << 10)
    case("data-csv-disk-full", "disk full (RLIMIT_FSIZE)",
         lambda b, r: ["data", b / "new", "--source", "csv", "--input", _rows(b / "in.csv")],
         fsize=2 << 10)

    # --- unicode and very long paths
    case("data-unicode-path", "unicode and long paths",
         lambda b, r: ["data", "--quick", "--patients", "6", b / "rün-ü—名前"], expect=(0,),
         may_write=["rün-ü—名前"])
    case("data-long-name", "unicode and long paths",
         lambda b, r: ["data", "--quick", b / ("n" * 300)])
    case("data-long-path", "unicode and long paths",
         lambda b, r: ["data", "--quick", b.joinpath(*(["d" * 200] * 25))])

    # --- the link
    case("verify-port-refused", "busy or absent port",
         lambda b, r: ["verify", r, "--port", "socket://127.0.0.1:9", "--timeout", "0.2"],
         expect=(3,), firmware=True, may_write=["run/verify"])
    case("monitor-port-refused", "busy or absent port",
         lambda b, r: ["monitor", "--port", "socket://127.0.0.1:9"], expect=(3,))

    # --- the remaining commands: a file where a run, a model or an output belongs
    def plain(b: Path) -> Path:
        f = b / "file"
        f.write_text("not a folder\n")
        return f
    case("emulate-file-as-run", "a file as RUN_DIR",
         lambda b, r: ["emulate", plain(b), "--target", "host", "--tcp", "0"])
    case("bench-link-file-as-run", "a file as RUN_DIR",
         lambda b, r: ["bench", "link", plain(b), "--port", "socket://127.0.0.1:9"],
         expect=(2,))
    case("bench-engine-not-a-model", "truncated model",
         lambda b, r: ["bench", "engine", plain(b)])

    def truncated_tflite(b: Path, r: Path) -> Path:
        t = b / "model.tflite"
        t.write_bytes((RunPaths(r).tflite).read_bytes()[:3000])
        return t
    case("bench-engine-truncated", "truncated model",
         lambda b, r: ["bench", "engine", truncated_tflite(b, r)], run=True)
    case("ports-json-into-folder", "folder bedside did not create",
         lambda b, r: ["ports", "--json", foreign(b, "out")])
    return cases


# --- running ----------------------------------------------------------------------------

# Limits are set in the child by a trampoline that then execs the command (no preexec_fn:
# cases run from threads); SIGXFSZ ignored, so a write past RLIMIT_FSIZE fails with EFBIG.
_TRAMPOLINE = """
import os, resource, signal, sys
mem, fsize = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
if fsize:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
os.execv(sys.executable, [sys.executable, "-m", "bedside.cli", *sys.argv[3:]])
"""


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def run_case(c: Case) -> dict:
    """Run one case; returns its result with `passed` and, when it failed, `why`."""
    before = snapshot(c.sandbox)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
           "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    try:
        cmd = [sys.executable, "-c", _TRAMPOLINE, str(MEMORY_LIMIT), str(c.fsize or 0),
               *c.argv]
        proc = subprocess.run(cmd, cwd=c.sandbox, env=env, capture_output=True, text=True,
                              errors="replace", timeout=CASE_TIMEOUT_S)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, str(e.stdout or ""), str(e.stderr or "")
    seconds = round(time.monotonic() - t0, 2)
    for p in [c.sandbox, *c.sandbox.rglob("*")]:        # read-only folders: restore to hash
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    after = snapshot(c.sandbox)
    allowed = tuple(c.may_write)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                     and not any(k == a or k.startswith(a + "/") for a in allowed))
    why = []
    cmd = c.argv[0]
    if rc is None:
        why.append(f"timed out after {CASE_TIMEOUT_S} s")
    else:
        if rc not in EXIT_CODES[cmd]:
            why.append(f"exit {rc} is not in {cmd}'s table {sorted(EXIT_CODES[cmd])}")
        if rc not in c.expect:
            why.append(f"exit {rc}, expected {sorted(c.expect)}")
    if "Traceback (most recent call last)" in err + out:
        why.append("traceback: " + _last_line(err))
    line = _last_line(err) or _last_line(out)
    if rc not in (0, None) and not line:
        why.append("failed without saying why")
    if changed:
        why.append(f"changed outside its folders: {', '.join(changed[:4])}")
    for f in c.keep:
        if before.get(f) is None or before.get(f) != after.get(f):
            why.append(f"{f} (the user's) was changed or deleted")
    for f in c.forbid:
        if (c.sandbox / f).exists():
            why.append(f"{f} exists (a command ran through the shell)")
    return {"name": c.name, "kind": c.kind, "command": c.command, "exit": rc,
            "seconds": seconds, "message": line[:300], "passed": not why, "why": why}


def summary(results: list[dict]) -> dict:
    """Cases and passes per command and per class (what reliability.json records)."""
    def count(key: str) -> dict:
        out: dict[str, dict] = {}
        for r in results:
            s = out.setdefault(r[key], {"cases": 0, "passed": 0})
            s["cases"] += 1
            s["passed"] += int(r["passed"])
        return dict(sorted(out.items()))
    return {"cases": len(results), "passed": sum(r["passed"] for r in results),
            "per_command": count("command"), "per_class": count("kind"),
            "failed": [{k: r[k] for k in ("name", "exit", "why", "message")}
                       for r in results if not r["passed"]],
            "memory_limit_bytes": MEMORY_LIMIT}


def run_corpus(run_dir: Path, work: Path, log=None, workers: int = 2
               ) -> tuple[dict, list[dict]]:
    """Generate and run every case (`workers` at a time: each waits mostly on its own
    interpreter's start); the summary and each case's result."""
    from concurrent.futures import ThreadPoolExecutor

    def one(c: Case) -> dict:
        r = run_case(c)
        if log:
            log(f"{'ok  ' if r['passed'] else 'FAIL'} {r['name']:<34} exit {r['exit']} "
                f"{r['seconds']:5.1f} s  {'; '.join(r['why']) or r['message'][:90]}")
        return r
    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = list(pool.map(one, generate(run_dir, work)))
    return summary(results), results
