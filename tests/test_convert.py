"""bedside convert: the int8 model in TFLM, the manifest, generated sources, determinism."""
import hashlib
import json
import re
import subprocess
from pathlib import Path

import numpy as np

from bedside.contract.manifest import load_manifest
from tests.fixtures.convert import copy_run
from bedside.rundir import RunPaths


def _int8(run_dir):
    return Path(run_dir) / "int8"


def test_tflm_runs_model_and_deltas_within_bounds(converted_run_dir):
    from bedside.reference.tflm import interpreter
    from bedside.sources.windows import window_dataset

    out = _int8(converted_run_dir)
    model = (out / "model.tflite").read_bytes()
    it = interpreter(model)
    inp = it.get_input_details(0)
    assert inp["dtype"] == np.int8 and list(inp["shape"]) == [1, 60, 7]
    assert float(inp["quantization_parameters"]["scales"][0]) == 1 / 32
    assert int(inp["quantization_parameters"]["zero_points"][0]) == 0
    x, _, _, _ = window_dataset(converted_run_dir, "test")
    outs = []
    for w in x[:8]:
        it.set_input(w[None], 0)
        it.invoke()
        outs.append(int(it.get_output(0).reshape(-1)[0]))
    report = json.loads((out / "conversion.json").read_text())
    ptq = report["ptq"]
    assert ptq["windows"] == len(x) > 0
    assert ptq["max_abs_prob_diff"] <= 0.05
    assert ptq["decision_mismatch_frac"] <= 0.02
    assert ptq["alarm_state_mismatch_frac"] <= 0.1     # one flip can hold an alarm longer
    if ptq["auroc_delta"] is not None:
        assert abs(ptq["auroc_delta"]) <= 0.02
    assert report["arena_bytes_tflm"] > 0
    assert len(set(outs)) >= 1 and all(-128 <= q <= 127 for q in outs)


def test_manifest_is_complete_and_consistent(converted_run_dir):
    from bedside.contract.alarm import prob_to_q

    out = _int8(converted_run_dir)
    m = load_manifest(RunPaths(converted_run_dir).manifest)
    model = (out / "model.tflite").read_bytes()
    assert m["model"]["sha256"] == hashlib.sha256(model).hexdigest()
    assert m["model"]["bytes"] == len(model)
    for key in ("format_version", "protocol_version", "gen_format", "sample_period_s",
                "signals", "window", "preprocessing", "model", "alarm", "labels",
                "versions", "generator"):
        assert key in m, key
    for key in ("file", "sha256", "bytes", "ops", "input", "output", "arena_bytes_tflm",
                "arena_bytes_compiled"):
        assert key in m["model"], key
    assert m["model"]["input"] == {"shape": [1, 60, 7], "dtype": "int8", "scale": 1 / 32,
                                   "zero_point": 0, "bytes": 420}
    a, o = m["alarm"], m["model"]["output"]
    assert a["on_q"] == prob_to_q(a["threshold"], o["scale"], o["zero_point"])
    assert a["off_q"] == prob_to_q(a["off_threshold"], o["scale"], o["zero_point"])
    assert all({"name", "version"} <= set(op) for op in m["model"]["ops"])
    from bedside.reference.tflm import reference_version
    assert m["reference"] == {"package": "tflite-micro", "version": reference_version(),
                              "multiplier_derivation": "float64", "rounding": "double"}
    assert [s["name"] for s in m["signals"]] == ["hr", "sbp", "dbp", "map", "spo2", "rr",
                                                  "temp"]
    for name in ("model_config.h", "model_data.h", "model_data.cc", "model_ops.h"):
        text = (out / "gen" / name).read_text()
        assert m["model"]["sha256"] in text.split("\n\n")[0]        # banner: input hash
        assert "bedside convert RUN_DIR" in text and "BEDSIDE_GEN_FORMAT" in text or \
            name == "model_data.cc"
        assert not re.search(r"20\d\d-\d\d-\d\d", text)             # no timestamp


def _gxx(args, cwd):
    return subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", *args],
                          cwd=cwd, capture_output=True, text=True)


def test_generated_sources_compile(converted_run_dir, tmp_path):
    gen = _int8(converted_run_dir) / "gen"
    m = load_manifest(RunPaths(converted_run_dir).manifest)
    n_ops = len(m["model"]["ops"])
    # a resolver with the TFLM method names model_ops.h may call (TFLM is not built here)
    methods = "".join(f"  int {name}() {{ return ++n; }}\n"
                      for name in sorted(__import__("bedside.converter.opset",
                                                    fromlist=["TFLM_OPS"]).TFLM_OPS.values()))
    (tmp_path / "tu.cc").write_text(f"""
#include "model_config.h"
#include "model_data.h"
#include "model_ops.h"
#include <cstdio>
struct Resolver {{ int n = 0;
{methods}}};
int main() {{
  Resolver r;
  BEDSIDE_REGISTER_OPS(r);
  static_assert(BEDSIDE_TFLM_OP_COUNT == {n_ops}, "op count");
  static_assert(bedside_gen::kWindowLength == {m['window']['length']}, "window");
  std::printf("%d %u %d %d %u\\n", r.n, g_model_data_len,
              (int)bedside_gen::kAlarmOnQ, bedside_gen::kInputBytes,
              (unsigned)(reinterpret_cast<unsigned long>(g_model_data) % 16));
  return 0;
}}
""")
    res = _gxx([f"-I{gen}", "tu.cc", str(gen / "model_data.cc"), "-o", "tu"], tmp_path)
    assert res.returncode == 0, res.stderr
    got = subprocess.run([str(tmp_path / "tu")], capture_output=True, text=True).stdout.split()
    assert got == [str(n_ops), str(m["model"]["bytes"]), str(m["alarm"]["on_q"]), "420", "0"]
    # the format guard: a firmware expecting another generated format refuses to build
    res = _gxx([f"-I{gen}", "-DBEDSIDE_FIRMWARE_GEN_FORMAT=999", "-c", "tu.cc", "-o", "x.o"],
               tmp_path)
    assert res.returncode != 0 and "Regenerate" in res.stderr


def test_conversion_is_byte_identical_across_runs(converted_run_dir, tmp_path):
    """A second conversion, in another process (the fixture's ran in a subprocess) and
    another directory, gives the same bytes."""
    from bedside.cli import main

    run2 = copy_run(converted_run_dir, tmp_path / "again")
    assert main(["convert", str(run2)]) == 0
    a, b = _int8(converted_run_dir), _int8(run2)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_qat_ships_fine_tuned_model_and_reports_both(quick_run_dir, tmp_path):
    from bedside.cli import main

    run = copy_run(quick_run_dir, tmp_path / "run")
    assert main(["convert", str(run), "--qat"]) == 0
    report = json.loads((_int8(run) / "conversion.json").read_text())
    manifest = load_manifest(RunPaths(run).manifest)
    assert report["shipped"] == manifest["model"]["quantization"] == "qat"
    assert report["ptq"]["windows"] == report["qat"]["metrics"]["windows"] > 0
    assert report["checks"] == report["qat"]["metrics"]
    assert report["qat"]["metrics"]["max_abs_prob_diff"] <= 0.1
    assert manifest["model"]["input"]["scale"] == 1 / 32


def test_from_tflite_packages_a_given_model(converted_run_dir, tmp_path, capsys):
    from bedside.cli import main

    run = copy_run(converted_run_dir, tmp_path / "given")
    given = _int8(converted_run_dir) / "model.tflite"
    capsys.readouterr()
    assert main(["convert", str(run), "--from-tflite", str(given),
                 "--multiplier-derivation", "float32-product", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)        # --json: stdout is the JSON only
    assert result["manifest"] == str(RunPaths(run).manifest)
    assert result["conversion"]["shipped"] == "given"
    m = load_manifest(RunPaths(run).manifest)
    assert m["model"]["quantization"] == "given"
    assert m["reference"]["multiplier_derivation"] == "float32-product"
    assert "multipliers: float32-product" in (_int8(run) / "gen" / "model_engine.cc").read_text()
    assert m["model"]["sha256"] == load_manifest(RunPaths(converted_run_dir).manifest)["model"]["sha256"]
    report = json.loads((_int8(run) / "conversion.json").read_text())
    assert report["ptq"] is None and report["checks"]["windows"] > 0
