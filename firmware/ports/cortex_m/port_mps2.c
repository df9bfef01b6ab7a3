/* MPS2 board port (QEMU mps2-an385/an386/an500): CMSDK UART0; cycles from SysTick
 * (systick.c).
 *
 * UART0 (0x40004000) is polled; its RX interrupt only wakes the core from WFI, so an idle
 * firmware does not spin (nor make QEMU burn a host core). */
#include <stdbool.h>
#include <stdint.h>

#include "port.h"
#include "systick.h"

#ifndef BEDSIDE_BOARD_NAME
#define BEDSIDE_BOARD_NAME "mps2-an386"
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
#define NVIC_ISER0 REG(0xE000E100u)

static bool g_alarm_led;

/* MPS2 UART0 RX is IRQ 0 */
void Irq0_Handler(void) { UART_INTSTATUS = 2u; /* clear RX interrupt; main loop reads */ }

void port_init(void) {
  UART_BAUDDIV = BEDSIDE_CORE_CLOCK_HZ / 115200u;
  UART_CTRL = 1u | 2u | 8u;
  NVIC_ISER0 = 1u << 0; /* UART0 RX */
  systick_start();
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

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false; /* the MPS2 image has no vital-sign sensors */
}

void port_alarm_led(bool on) { g_alarm_led = on; /* MPS2 FPGA LEDs: not modelled by QEMU */ }

const char *port_board_name(void) { return BEDSIDE_BOARD_NAME; }

void port_idle(void) {
  /* Sleep until the UART (or SysTick) interrupts. With PRIMASK set, a byte arriving after
   * the check still ends the WFI (a pending interrupt wakes the core even when masked), so
   * none waits; the RX handler runs after cpsie. */
  __asm volatile("cpsid i" ::: "memory");
  if (!(UART_STATE & UART_RX_FULL)) __asm volatile("dsb\n wfi" ::: "memory");
  __asm volatile("cpsie i" ::: "memory");
}
