/* Cortex-M port for the Arm MPS2 boards (QEMU mps2-an385/an386/an500): CMSDK UART0 and
 * SysTick.
 *
 * UART0 (0x40004000) is polled; its RX interrupt only wakes the core from WFI, so an idle
 * firmware does not spin (nor make QEMU burn a host core). SysTick runs from the core
 * clock with a 2^24 reload; its interrupt extends the 24-bit down-counter to a 32-bit
 * cycle count. Under QEMU with `-icount shift=0` the count is deterministic: virtual time
 * advances 1 ns per instruction and SysTick ticks at QEMU's 25 MHz board clock (AN385,
 * AN386 and AN500), so one tick = 40 instructions; measured with a counted loop
 * (docs/firmware.md). */
#include <stdbool.h>
#include <stdint.h>

#include "port.h"

#ifndef BEDSIDE_BOARD_NAME
#define BEDSIDE_BOARD_NAME "mps2-an386"
#endif
#ifndef BEDSIDE_CORE_CLOCK_HZ
#define BEDSIDE_CORE_CLOCK_HZ 25000000u
#endif

#define REG(addr) (*(volatile uint32_t *)(addr))

/* CMSDK APB UART */
#define UART0_BASE 0x40004000u
#define UART_DATA REG(UART0_BASE + 0x00)
#define UART_STATE REG(UART0_BASE + 0x04)  /* bit0 TX full, bit1 RX full */
#define UART_CTRL REG(UART0_BASE + 0x08)   /* bit0 TX en, bit1 RX en, bit3 RX int en */
#define UART_INTSTATUS REG(UART0_BASE + 0x0C)
#define UART_BAUDDIV REG(UART0_BASE + 0x10)
#define UART_TX_FULL 1u
#define UART_RX_FULL 2u

/* SysTick and NVIC */
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_ICSR REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define NVIC_ISER0 REG(0xE000E100u)
#define SYSTICK_RELOAD 0x00FFFFFFu
#define SYSTICK_PERIOD (SYSTICK_RELOAD + 1u)

static volatile uint32_t g_systick_wraps;
static bool g_alarm_led;

void SysTick_Handler(void) { g_systick_wraps++; }

void Uart0Rx_Handler(void) { UART_INTSTATUS = 2u; /* clear RX interrupt; main loop reads */ }

void port_init(void) {
  UART_BAUDDIV = BEDSIDE_CORE_CLOCK_HZ / 115200u;
  UART_CTRL = 1u | 2u | 8u;
  NVIC_ISER0 = 1u << 0; /* UART0 RX */
  SYST_RVR = SYSTICK_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt, core clock */
  /* The counter reads 0 until its first reload (one tick later): wait for it, or the first
   * interval measured would look like a wrap. */
  for (int i = 0; i < 100000 && SYST_CVR == 0; ++i) {
  }
}

int port_serial_read(uint8_t *buf, int max_len) {
  int n = 0;
  while (n < max_len && (UART_STATE & UART_RX_FULL)) buf[n++] = (uint8_t)UART_DATA;
  return n;
}

void port_serial_write(const uint8_t *buf, int len) {
  for (int i = 0; i < len; ++i) {
    while (UART_STATE & UART_TX_FULL) {
    }
    UART_DATA = buf[i];
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

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false; /* the MPS2 image has no vital-sign sensors */
}

void port_alarm_led(bool on) { g_alarm_led = on; /* MPS2 FPGA LEDs: not modelled by QEMU */ }

const char *port_board_name(void) { return BEDSIDE_BOARD_NAME; }

uint32_t port_core_clock_hz(void) { return BEDSIDE_CORE_CLOCK_HZ; }

void port_idle(void) {
  /* Sleep until the UART (or SysTick) interrupts. With PRIMASK set, a byte arriving after
   * the check still ends the WFI (a pending interrupt wakes the core even when masked), so
   * none waits; the RX handler runs after cpsie. */
  __asm volatile("cpsid i" ::: "memory");
  if (!(UART_STATE & UART_RX_FULL)) __asm volatile("dsb\n wfi" ::: "memory");
  __asm volatile("cpsie i" ::: "memory");
}
