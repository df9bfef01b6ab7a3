// Arm (Cortex-M0/M3/M4) parts of the engine benchmark firmware: a counted loop and the
// semihosting exit QEMU understands.
#ifndef BEDSIDE_ENGINE_BENCH_ARCH_H_
#define BEDSIDE_ENGINE_BENCH_ARCH_H_
#include <stdint.h>

// A loop of a known instruction count, to convert counter ticks to instructions under
// -icount (each iteration: subs + bne = 2 instructions). For Thumb-1 (M0), GCC passes inline
// assembly in divided syntax, hence `.syntax unified` and a low register ("l").
__attribute__((noinline)) static void BenchCalibrate(uint32_t n) {
  __asm volatile(".syntax unified\n1: subs %0, %0, #1\n bne 1b" : "+l"(n) : : "cc");
}

// AArch32 SYS_EXIT: r1 is the reason. ApplicationExit makes QEMU exit 0, another reason 1.
static void BenchExit(bool ok) {
  register uint32_t r0 __asm__("r0") = 0x18u;
  register uint32_t r1 __asm__("r1") = ok ? 0x20026u : 0x20023u;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

#endif  // BEDSIDE_ENGINE_BENCH_ARCH_H_
