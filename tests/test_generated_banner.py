"""Hostile file names in generated banners, and `bench engine` on models it must refuse.

A model path can hold a newline, `*/` or a trailing backslash (which would splice the next
line into a `//` comment); the generated sources must still compile with -Werror, and
nothing from the name may become code. `bench engine` answers a model the generator or
TFLM refuses with one line and exit 2, never a traceback.
"""
import subprocess
import sys

import numpy as np
import pytest

from tests.fixtures.crafted import T, build

HOSTILE = ["model\n#error injected by a newline\n.tflite", "model*/ #error injected */",
           "dir\\", "model\r#error injected by a carriage return", "model\u2028#error x"]


@pytest.mark.parametrize("name", HOSTILE, ids=["newline", "comment-end", "backslash", "cr", "u2028"])
def test_banner_with_hostile_name_compiles(name):
    from bedside.banner import banner
    src = banner("tests", "what", f"bedside bench engine {name}", {"Input model": name})
    src += "int generated_code_follows;\n"
    r = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                        "-x", "c++", "-"], input=src, text=True, capture_output=True)
    assert r.returncode == 0, r.stderr
    assert src.count("\n") == 5 and all(line.startswith("// ") for line in src.splitlines()[:4])


def _quantize_model(n: int) -> bytes:
    return build([T((1, n), scales=[0.05], zero_points=[1]), T((1, n), scales=[0.03], zero_points=[-4])],
                 "QUANTIZE", [0], [1])


def _bench(*argv):
    import os
    from pathlib import Path
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.run([sys.executable, "-m", "bedside.cli", "bench", "engine", *map(str, argv)],
                          capture_output=True, text=True, env=env)


def test_bench_engine_on_a_model_path_with_a_newline(tmp_path):
    """The whole path: generation with the name in every banner, host build, comparison."""
    d = tmp_path / "runs\\"
    d.mkdir()
    path = d / "model\n#error injected\\"
    path.write_bytes(_quantize_model(16))
    keep = tmp_path / "keep"
    r = _bench(path, "-n", "4", "--no-cortex-m", "--keep", keep)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bit-exact" in r.stdout and "multipliers: float64, rounding: double" in r.stdout
    cc = (keep / "gen" / "model_engine.cc").read_text()
    assert "#error injected" not in [line.strip() for line in cc.splitlines()]


@pytest.mark.parametrize("what", ["zero point", "TFLM arena", "not a model"])
def test_bench_engine_refuses_in_one_line(tmp_path, what):
    from tests.fixtures.crafted import schema
    path = tmp_path / "m.tflite"
    if what == "zero point":
        s = schema()
        m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(_quantize_model(8), 0))
        m.subgraphs[0].tensors[1].quantization.zeroPoint = [-1090921693312]
        import flatbuffers
        b = flatbuffers.Builder(256)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        path.write_bytes(bytes(b.Output()))
        words = "zero point -1090921693312 is outside int8"
    elif what == "TFLM arena":     # valid, but larger than TFLM's 4 MiB host arena
        path.write_bytes(_quantize_model(3 << 20))
        words = "the reference cannot run it"
    else:
        path.write_bytes(np.arange(64, dtype=np.uint8).tobytes())
        words = "not a TFLite flatbuffer"
    r = _bench(path, "-n", "2", "--no-cortex-m")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0] and "m.tflite" in lines[0], r.stderr
    assert "Traceback" not in r.stdout + r.stderr
