/* SysTick: port_cycles(), port_millis() and port_core_clock_hz() for the Cortex-M boards
 * that have it (systick.h).
 *
 * SysTick runs from the core clock with a 2^24 reload; its interrupt extends the 24-bit
 * down-counter to a 64-bit tick count. Under QEMU with `-icount shift=0` the count is
 * deterministic: virtual time advances 1 ns per instruction, so one tick is
 * 1e9 / BEDSIDE_CORE_CLOCK_HZ instructions (40 on the MPS2 images' 25 MHz clock, measured
 * with a counted loop; docs/firmware.md). */
#include <stdint.h>

#include "port.h"
#include "systick.h"

#ifndef BEDSIDE_CORE_CLOCK_HZ
#error "BEDSIDE_CORE_CLOCK_HZ: the core clock SysTick counts (set from firmware/boards.toml)"
#endif

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_ICSR REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define SYSTICK_RELOAD 0x00FFFFFFu
#define SYSTICK_PERIOD (SYSTICK_RELOAD + 1u)

static volatile uint32_t g_systick_wraps;

void SysTick_Handler(void) { g_systick_wraps++; }

void systick_start(void) {
  SYST_RVR = SYSTICK_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt, core clock */
  /* The counter reads 0 until its first reload (one tick later): wait for it, or the first
   * interval measured would look like a wrap. */
  for (int i = 0; i < 100000 && SYST_CVR == 0; ++i) {
  }
}

/* wraps * 2^24 + elapsed ticks, in 64 bits (wraps * 2^24 overflows 32 bits after a few
 * minutes at 25 MHz); a wrap that is pending but not yet serviced is counted. */
static uint64_t systick_ticks(void) {
  uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask));
  uint64_t wraps = g_systick_wraps;
  uint32_t val = SYST_CVR;
  if (SCB_ICSR & ICSR_PENDSTSET) {
    val = SYST_CVR;
    wraps += 1u;
  }
  __asm volatile("msr primask, %0" ::"r"(primask));
  return wraps * SYSTICK_PERIOD + (SYSTICK_RELOAD - val);
}

uint32_t port_cycles(void) { return (uint32_t)systick_ticks(); }

uint32_t port_millis(void) {
  return (uint32_t)(systick_ticks() / (BEDSIDE_CORE_CLOCK_HZ / 1000u));
}

uint32_t port_core_clock_hz(void) { return BEDSIDE_CORE_CLOCK_HZ; }
