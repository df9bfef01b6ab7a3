"""Kernel arithmetic: the fast MultiplyByQuantizedMultiplier forms equal the gemmlowp
reference (and the Python generator's copy) on edge cases and millions of random arguments
(the SMMULR variant of the fast form runs in the QEMU model tests)."""
import subprocess

import numpy as np

from converter.engine import KERNEL_DIR
from converter.engine.quant import mbqm, quantize_multiplier

PROGRAM = r"""
#include <cstdio>
#include <cstdlib>
#include "kernels/common.h"
#include "kernels/elementwise.h"
using namespace bedside_engine;
static uint64_t s = 88172645463325252ull;
static uint32_t rnd() { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)s; }
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const int32_t xs[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 30, -(1 << 30), 12345, -12345};
  const int32_t ms[] = {0, 1, 1 << 30, (1 << 30) + 1, INT32_MAX, 1518500250, 1073741824};
  long bad = 0;
  for (int32_t x : xs) for (int32_t m : ms) for (int sh = -31; sh <= 30; ++sh) {
    if (sh > 0 && (x > (INT32_MAX >> sh) || x < (INT32_MIN >> sh))) continue;  // TFLM would overflow too
    bad += MultiplyByQuantizedMultiplier(x, m, sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= -1 && x < (1 << 30) && x > -(1 << 30))
      bad += MultiplyByQuantizedMultiplierFast(x, m, -sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= 0 && x < (1 << 30) && x > -(1 << 30))
      bad += FastMultiplier(m, sh).Apply(x) != MultiplyByQuantizedMultiplierReference(x, m, sh);
  }
  const long n = atol(argv[1]);
  for (long i = 0; i < n; ++i) {
    const int32_t x = (int32_t)rnd() >> (rnd() % 32);
    const int32_t m = (int32_t)(rnd() >> 1);
    const int sh = -(int)(rnd() % 32) + (int)(rnd() % 8);
    if (sh > 0 && (x > (INT32_MAX >> sh) || x < (INT32_MIN >> sh))) continue;
    bad += MultiplyByQuantizedMultiplier(x, m, sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= -1 && x < (1 << 30) && x > -(1 << 30))
      bad += MultiplyByQuantizedMultiplierFast(x, m, -sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= 0 && x < (1 << 30) && x > -(1 << 30))
      bad += FastMultiplier(m, sh).Apply(x) != MultiplyByQuantizedMultiplierReference(x, m, sh);
  }
  // A few values for the Python cross-check.
  printf("%ld\n", bad);
  printf("%d %d %d\n", MultiplyByQuantizedMultiplier(-12345, 1518500250, -7),
         MultiplyByQuantizedMultiplier(777777, 1073741824, 1), MultiplyByQuantizedMultiplier(-5, 2147483647, 0));
  return 0;
}
"""


def test_fast_multiplier_equals_reference(tmp_path):
    src = tmp_path / "t.cc"
    src.write_text(PROGRAM)
    exe = tmp_path / "t"
    subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", f"-I{KERNEL_DIR}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe), "1000000"], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "0", f"{out[0]} mismatches between fast and reference MultiplyByQuantizedMultiplier"
    assert [int(v) for v in out[1].split()] == [mbqm(-12345, 1518500250, -7), mbqm(777777, 1073741824, 1),
                                                 mbqm(-5, 2147483647, 0)]


def test_quantize_multiplier_matches_frexp_rule():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(0.0123)
    assert (1 << 30) <= m < (1 << 31) and abs(m * 2.0 ** (s - 31) - 0.0123) < 1e-9
    assert quantize_multiplier(2.0 ** -40) == (0, 0)          # flushed like TFLM
    rng = np.random.default_rng(0)
    for v in rng.uniform(1e-6, 4, 200):
        m, s = quantize_multiplier(float(v))
        assert abs(m * 2.0 ** (s - 31) - v) <= v * 2 ** -30
