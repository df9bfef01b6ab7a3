/* ESP8266 port (Xtensa LX106), register level: UART0 FIFO and the CCOUNT cycle counter.
 * Compiled and linked in CI for its section sizes (`bedside build --target xtensa-lx106`);
 * QEMU has no ESP8266 board, so it is not run here. The ESP32's own cores are Xtensa LX6/
 * LX7 (and RISC-V on the C3/C6): on those, use the PlatformIO env esp32dev.
 *
 * The ROM boot loader has set up the clocks (80 MHz CPU) and UART0 (74880 baud after
 * reset: the host must use that rate, or set UART_CLKDIV for 115200 below). */
#include <stdbool.h>
#include <stdint.h>

#include "port.h"

#ifndef BEDSIDE_BOARD_NAME
#define BEDSIDE_BOARD_NAME "xtensa-lx106"
#endif
#ifndef BEDSIDE_CORE_CLOCK_HZ
#define BEDSIDE_CORE_CLOCK_HZ 80000000u
#endif

#define REG(addr) (*(volatile uint32_t *)(addr))
#define UART0 0x60000000u
#define UART_FIFO REG(UART0 + 0x00)
#define UART_STATUS REG(UART0 + 0x1C)
#define UART_CLKDIV REG(UART0 + 0x14)
#define RX_COUNT(status) ((status) & 0xFFu)
#define TX_COUNT(status) (((status) >> 16) & 0xFFu)
#define TX_FIFO_SIZE 128u
#define UART_CLK_HZ 80000000u

extern uint32_t __bss_start, __bss_end, __stack_top;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
extern int main(void);
void call_user_start(void);

static uint32_t g_millis_base, g_last_ccount;
static bool g_alarm_led;

void call_user_start(void) {
  __asm volatile("mov a1, %0" ::"r"(&__stack_top));
  for (uint32_t *p = &__bss_start; p < &__bss_end; ++p) *p = 0;
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  main();
  for (;;) {
  }
}

void port_init(void) { UART_CLKDIV = UART_CLK_HZ / 115200u; }

int port_serial_read(uint8_t *buf, int max_len) {
  int n = 0;
  while (n < max_len && RX_COUNT(UART_STATUS)) buf[n++] = (uint8_t)UART_FIFO;
  return n;
}

void port_serial_write(const uint8_t *buf, int len) {
  for (int i = 0; i < len; ++i) {
    while (TX_COUNT(UART_STATUS) >= TX_FIFO_SIZE - 1u) {
    }
    UART_FIFO = buf[i];
  }
}

uint32_t port_cycles(void) {
  uint32_t c;
  __asm volatile("rsr %0, ccount" : "=r"(c));
  return c;
}

uint32_t port_millis(void) {
  /* CCOUNT wraps every 53 s at 80 MHz: whole milliseconds are carried across reads, so
   * the clock stays right as long as the loop polls more often than that */
  const uint32_t now = port_cycles();
  const uint32_t ms = (now - g_last_ccount) / (BEDSIDE_CORE_CLOCK_HZ / 1000u);
  g_millis_base += ms;
  g_last_ccount += ms * (BEDSIDE_CORE_CLOCK_HZ / 1000u);
  return g_millis_base;
}

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false;
}

void port_alarm_led(bool on) { g_alarm_led = on; }

const char *port_board_name(void) { return BEDSIDE_BOARD_NAME; }

uint32_t port_core_clock_hz(void) { return BEDSIDE_CORE_CLOCK_HZ; }

void port_idle(void) {}
