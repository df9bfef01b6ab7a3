// RISC-V (QEMU virt) parts of the engine benchmark firmware: a counted loop and the exit
// through the board's SiFive test finisher.
#ifndef BEDSIDE_ENGINE_BENCH_ARCH_H_
#define BEDSIDE_ENGINE_BENCH_ARCH_H_
#include <stdint.h>

// A loop of a known instruction count (each iteration: addi + bnez = 2 instructions); on
// RISC-V port_cycles() reads minstret, so the calibration should give 1.0 per count.
__attribute__((noinline)) static void BenchCalibrate(uint32_t n) {
  __asm volatile("1: addi %0, %0, -1\n bnez %0, 1b" : "+r"(n));
}

// virt's test device (sifive_test at 0x100000): 0x5555 exits QEMU with 0, 0x3333 | code << 16
// with `code`.
static void BenchExit(bool ok) {
  *reinterpret_cast<volatile uint32_t *>(0x100000u) = ok ? 0x5555u : (1u << 16) | 0x3333u;
}

#endif  // BEDSIDE_ENGINE_BENCH_ARCH_H_
