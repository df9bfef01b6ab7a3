/* nRF51822 port (BBC micro:bit; QEMU microbit): UART0 and TIMER0, register level.
 *
 * The UART runs at 115200 baud on the micro:bit's USB-serial pins (TX P0.24, RX P0.25).
 * It is polled; its RXDRDY interrupt only wakes the core from WFI (the handler masks it
 * again, the loop reads). The nRF51 has no SysTick: TIMER0 counts the 16 MHz clock in
 * 32-bit mode (one tick per core cycle on the real part), and its compare-at-zero event
 * counts wraps for the millisecond clock. Under QEMU `-icount shift=0` one tick is 62.5
 * instructions (virtual time advances 1 ns per instruction). */
#include <stdbool.h>
#include <stdint.h>

#include "port.h"

#ifndef BEDSIDE_BOARD_NAME
#define BEDSIDE_BOARD_NAME "microbit"
#endif
#ifndef BEDSIDE_CORE_CLOCK_HZ
#define BEDSIDE_CORE_CLOCK_HZ 16000000u
#endif

#define REG(addr) (*(volatile uint32_t *)(addr))

#define UART0 0x40002000u
#define UART_STARTRX REG(UART0 + 0x000)
#define UART_STARTTX REG(UART0 + 0x008)
#define UART_RXDRDY REG(UART0 + 0x108)
#define UART_TXDRDY REG(UART0 + 0x11C)
#define UART_INTENSET REG(UART0 + 0x304)
#define UART_INTENCLR REG(UART0 + 0x308)
#define UART_ENABLE REG(UART0 + 0x500)
#define UART_PSELTXD REG(UART0 + 0x50C)
#define UART_PSELRXD REG(UART0 + 0x514)
#define UART_RXD REG(UART0 + 0x518)
#define UART_TXD REG(UART0 + 0x51C)
#define UART_BAUDRATE REG(UART0 + 0x524)
#define UART_INT_RXDRDY (1u << 2)
#define UART_BAUD_115200 0x01D7E000u
#define UART0_IRQ 2u
#define PIN_TX 24u
#define PIN_RX 25u

#define GPIO_OUTSET REG(0x50000508u)
#define GPIO_DIRSET REG(0x50000518u)

#define TIMER0 0x40008000u
#define TIMER_START REG(TIMER0 + 0x000)
#define TIMER_CAPTURE0 REG(TIMER0 + 0x040)
#define TIMER_COMPARE1 REG(TIMER0 + 0x144)
#define TIMER_INTENSET REG(TIMER0 + 0x304)
#define TIMER_MODE REG(TIMER0 + 0x504)
#define TIMER_BITMODE REG(TIMER0 + 0x508)
#define TIMER_PRESCALER REG(TIMER0 + 0x510)
#define TIMER_CC0 REG(TIMER0 + 0x540)
#define TIMER_CC1 REG(TIMER0 + 0x544)
#define TIMER_INT_COMPARE1 (1u << 17)
#define TIMER0_IRQ 8u

#define NVIC_ISER0 REG(0xE000E100u)
#define NVIC_ISPR0 REG(0xE000E200u)

static volatile uint32_t g_timer_wraps;
static bool g_alarm_led;

/* UART0: mask RXDRDY again; the main loop reads the byte */
void Irq2_Handler(void) { UART_INTENCLR = UART_INT_RXDRDY; }

/* TIMER0 compare 1 (CC1 = 0): the 32-bit counter wrapped */
void Irq8_Handler(void) {
  TIMER_COMPARE1 = 0;
  g_timer_wraps++;
}

void port_init(void) {
  GPIO_OUTSET = 1u << PIN_TX;
  GPIO_DIRSET = 1u << PIN_TX;
  UART_PSELTXD = PIN_TX;
  UART_PSELRXD = PIN_RX;
  UART_BAUDRATE = UART_BAUD_115200;
  UART_ENABLE = 4u;
  UART_STARTTX = 1u;
  UART_STARTRX = 1u;
  NVIC_ISER0 = 1u << UART0_IRQ;

  TIMER_MODE = 0u;      /* timer */
  TIMER_BITMODE = 3u;   /* 32 bit */
  TIMER_PRESCALER = 0u; /* 16 MHz */
  TIMER_CC1 = 0u;
  TIMER_INTENSET = TIMER_INT_COMPARE1;
  NVIC_ISER0 = 1u << TIMER0_IRQ;
  TIMER_START = 1u;
}

int port_serial_read(uint8_t *buf, int max_len) {
  int n = 0;
  while (n < max_len && UART_RXDRDY) {
    UART_RXDRDY = 0; /* clear before reading: the next byte sets it again */
    buf[n++] = (uint8_t)UART_RXD;
  }
  return n;
}

void port_serial_write(const uint8_t *buf, int len) {
  for (int i = 0; i < len; ++i) {
    UART_TXDRDY = 0;
    UART_TXD = buf[i];
    while (!UART_TXDRDY) {
    }
  }
}

static uint32_t timer_now(void) {
  TIMER_CAPTURE0 = 1u;
  return TIMER_CC0;
}

uint32_t port_cycles(void) { return timer_now(); }

uint32_t port_millis(void) {
  /* wraps * 2^32 + count, with a wrap that is pending but not yet serviced counted */
  uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask));
  uint64_t wraps = g_timer_wraps;
  uint32_t now = timer_now();
  if (TIMER_COMPARE1) {
    now = timer_now();
    wraps += 1u;
  }
  __asm volatile("msr primask, %0" ::"r"(primask));
  return (uint32_t)(((wraps << 32) | now) / (BEDSIDE_CORE_CLOCK_HZ / 1000u));
}

uint32_t port_core_clock_hz(void) { return BEDSIDE_CORE_CLOCK_HZ; }

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false; /* no vital-sign sensors on the micro:bit's edge connector by default */
}

void port_alarm_led(bool on) { g_alarm_led = on; /* the 5x5 LED matrix is not driven */ }

const char *port_board_name(void) { return BEDSIDE_BOARD_NAME; }

void port_idle(void) {
  /* As on MPS2: with PRIMASK set a pending RXDRDY interrupt still ends WFI, so a byte that
   * arrives after the check is not missed; its handler runs after cpsie. */
  __asm volatile("cpsid i" ::: "memory");
  UART_INTENSET = UART_INT_RXDRDY;
  if (!UART_RXDRDY) __asm volatile("dsb\n wfi" ::: "memory");
  __asm volatile("cpsie i" ::: "memory");
}
