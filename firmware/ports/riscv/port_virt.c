/* RISC-V port for QEMU `virt` (rv32imc, the ESP32-C3/C6 instruction set): ns16550 UART0,
 * instret as the cycle counter, the CLINT timer for milliseconds.
 *
 * UART0 (0x10000000, one byte per register) is polled; its receive interrupt is routed
 * through the PLIC to the hart's machine external interrupt only so that WFI wakes when a
 * byte arrives (global interrupts stay off: no trap handler runs). Under QEMU with
 * `-icount shift=0`, minstret counts executed instructions exactly, so the cycles reported
 * per inference are instructions. mtime ticks at the virt board's 10 MHz timebase. */
#include <stdbool.h>
#include <stdint.h>

#include "port.h"

#ifndef BEDSIDE_BOARD_NAME
#define BEDSIDE_BOARD_NAME "riscv32"
#endif
#ifndef BEDSIDE_CORE_CLOCK_HZ
#define BEDSIDE_CORE_CLOCK_HZ 1000000000u /* instructions per second of QEMU virtual time */
#endif

#define REG8(addr) (*(volatile uint8_t *)(addr))
#define REG32(addr) (*(volatile uint32_t *)(addr))

/* ns16550 */
#define UART0 0x10000000u
#define UART_RBR REG8(UART0 + 0) /* read: receive buffer; write: transmit holding */
#define UART_IER REG8(UART0 + 1)
#define UART_FCR REG8(UART0 + 2)
#define UART_LCR REG8(UART0 + 3)
#define UART_LSR REG8(UART0 + 5)
#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u
#define UART0_IRQ 10u

/* PLIC, hart 0 machine-mode context (context 0) */
#define PLIC 0x0C000000u
#define PLIC_PRIORITY(irq) REG32(PLIC + 4u * (irq))
#define PLIC_ENABLE0 REG32(PLIC + 0x2000u)
#define PLIC_THRESHOLD0 REG32(PLIC + 0x200000u)
#define PLIC_CLAIM0 REG32(PLIC + 0x200004u)
#define MIE_MEIE (1u << 11)

/* CLINT machine timer */
#define MTIME_LO REG32(0x0200BFF8u)
#define MTIME_HI REG32(0x0200BFFCu)
#define MTIME_HZ 10000000u

/* CSR access: GCC 12 selects the rv32imc libraries only for a plain -march=rv32imc, and
 * binutils 2.40 wants Zicsr named, so the few CSR instructions enable it locally. */
#define CSR_ASM(insn) ".option push\n.option arch, +zicsr\n" insn "\n.option pop"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
extern int main(void);
void riscv_reset(void);

void riscv_reset(void) {
  uint32_t *src = &__data_load, *dst = &__data_start;
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end; ++dst) *dst = 0;
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  main();
  for (;;) {
  }
}

static bool g_alarm_led;

void port_init(void) {
  UART_LCR = 0x03u; /* 8N1 (QEMU does not model the baud rate) */
  UART_FCR = 0x07u; /* FIFOs on and cleared */
  UART_IER = 0x01u; /* receive-data-available interrupt */
  PLIC_PRIORITY(UART0_IRQ) = 1u;
  PLIC_ENABLE0 = 1u << UART0_IRQ;
  PLIC_THRESHOLD0 = 0u;
  __asm volatile(CSR_ASM("csrs mie, %0") ::"r"(MIE_MEIE));
}

int port_serial_read(uint8_t *buf, int max_len) {
  int n = 0;
  while (n < max_len && (UART_LSR & LSR_DATA_READY)) buf[n++] = UART_RBR;
  return n;
}

void port_serial_write(const uint8_t *buf, int len) {
  for (int i = 0; i < len; ++i) {
    while (!(UART_LSR & LSR_THR_EMPTY)) {
    }
    UART_RBR = buf[i];
  }
}

uint32_t port_cycles(void) {
  uint32_t n;
  __asm volatile(CSR_ASM("csrr %0, minstret") : "=r"(n));
  return n;
}

static uint64_t mtime(void) {
  uint32_t hi, lo;
  do {
    hi = MTIME_HI;
    lo = MTIME_LO;
  } while (hi != MTIME_HI);
  return ((uint64_t)hi << 32) | lo;
}

uint32_t port_millis(void) { return (uint32_t)(mtime() / (MTIME_HZ / 1000u)); }

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false; /* the virt board has no vital-sign sensors */
}

void port_alarm_led(bool on) { g_alarm_led = on; /* no LED on the virt board */ }

const char *port_board_name(void) { return BEDSIDE_BOARD_NAME; }

uint32_t port_core_clock_hz(void) { return BEDSIDE_CORE_CLOCK_HZ; }

void port_idle(void) {
  /* WFI returns once the PLIC signals the UART (an enabled, pending interrupt wakes the
   * hart even with interrupts globally off); a byte that arrived before the check is
   * already pending, so none waits. Claim and complete so the next WFI can sleep again. */
  if (!(UART_LSR & LSR_DATA_READY)) __asm volatile("wfi" ::: "memory");
  const uint32_t irq = PLIC_CLAIM0;
  if (irq) PLIC_CLAIM0 = irq;
}
