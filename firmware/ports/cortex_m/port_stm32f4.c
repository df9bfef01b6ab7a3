/* STM32F4 port, register level: USART1 or USART2 and SysTick (systick.c). QEMU
 * netduinoplus2 (STM32F405, USART1 = its first serial port) and the ST Nucleo-F446RE
 * (USART2 on PA2/PA3 = the ST-LINK virtual COM port, PlatformIO env nucleo_f446re) build
 * this same file.
 *
 * The clock tree is left as reset leaves it (16 MHz HSI, APB prescalers 1), so the baud
 * divisor is 16 MHz / 115200; set BEDSIDE_CORE_CLOCK_HZ to what SysTick counts (QEMU's
 * STM32F405 model clocks it at 168 MHz). Received bytes are taken by the RXNE interrupt
 * into a ring (only reading DR clears the request, also in QEMU 7.2's model); the loop
 * drains it and sleeps in WFI while it is empty. Transmit is polled. */
#include <stdbool.h>
#include <stdint.h>

#include "port.h"
#include "systick.h"

#ifndef BEDSIDE_BOARD_NAME
#define BEDSIDE_BOARD_NAME "stm32f4"
#endif
#ifndef BEDSIDE_STM32_USART
#define BEDSIDE_STM32_USART 1
#endif
#define PCLK_HZ 16000000u /* HSI after reset */
#define BAUD 115200u

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC_AHB1ENR REG(0x40023830u)
#define RCC_APB1ENR REG(0x40023840u)
#define RCC_APB2ENR REG(0x40023844u)
#define GPIOA_MODER REG(0x40020000u)
#define GPIOA_AFR(pin) REG(0x40020020u + 4u * ((pin) / 8u))

#if BEDSIDE_STM32_USART == 1
#define USART 0x40011000u
#define USART_IRQ 37u
#define USART_IRQ_HANDLER Irq37_Handler
#define PIN_TX 9u
#define PIN_RX 10u
#define USART_CLOCK_ON() (RCC_APB2ENR |= 1u << 4)
#elif BEDSIDE_STM32_USART == 2
#define USART 0x40004400u
#define USART_IRQ 38u
#define USART_IRQ_HANDLER Irq38_Handler
#define PIN_TX 2u
#define PIN_RX 3u
#define USART_CLOCK_ON() (RCC_APB1ENR |= 1u << 17)
#else
#error "BEDSIDE_STM32_USART: 1 (PA9/PA10) or 2 (PA2/PA3)"
#endif

#define USART_SR REG(USART + 0x00)
#define USART_DR REG(USART + 0x04)
#define USART_BRR REG(USART + 0x08)
#define USART_CR1 REG(USART + 0x0C)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_UE (1u << 13)
#define CR1_RXNEIE (1u << 5)
#define CR1_TE (1u << 3)
#define CR1_RE (1u << 2)

#define NVIC_ISER(n) REG(0xE000E100u + 4u * ((n) / 32u))

#define RX_RING 256u /* a power of two; 22 ms of data at 115200 baud */

static volatile uint8_t g_rx_ring[RX_RING];
static volatile uint32_t g_rx_head; /* written by the interrupt */
static volatile uint32_t g_rx_tail; /* written by the loop */
static bool g_alarm_led;

void USART_IRQ_HANDLER(void);
void USART_IRQ_HANDLER(void) {
  while (USART_SR & SR_RXNE) {
    const uint8_t byte = (uint8_t)USART_DR;
    if (g_rx_head - g_rx_tail < RX_RING) g_rx_ring[g_rx_head++ % RX_RING] = byte;
    /* a full ring drops the byte; the protocol's CRC and retries recover */
  }
}

static void pin_af7(uint32_t pin) {
  GPIOA_MODER = (GPIOA_MODER & ~(3u << (2u * pin))) | (2u << (2u * pin));
  GPIOA_AFR(pin) = (GPIOA_AFR(pin) & ~(0xFu << (4u * (pin % 8u)))) | (7u << (4u * (pin % 8u)));
}

void port_init(void) {
  RCC_AHB1ENR |= 1u << 0; /* GPIOA */
  USART_CLOCK_ON();
  pin_af7(PIN_TX);
  pin_af7(PIN_RX);
  USART_BRR = (PCLK_HZ + BAUD / 2u) / BAUD;
  USART_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
  NVIC_ISER(USART_IRQ) = 1u << (USART_IRQ % 32u);
  systick_start();
}

int port_serial_read(uint8_t *buf, int max_len) {
  int n = 0;
  while (n < max_len && g_rx_tail != g_rx_head) buf[n++] = g_rx_ring[g_rx_tail++ % RX_RING];
  return n;
}

void port_serial_write(const uint8_t *buf, int len) {
  for (int i = 0; i < len; ++i) {
    while (!(USART_SR & SR_TXE)) {
    }
    USART_DR = buf[i];
  }
}

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false; /* sensors: add ADC reads here for a real monitor */
}

void port_alarm_led(bool on) { g_alarm_led = on; /* user LED: board specific, not driven */ }

const char *port_board_name(void) { return BEDSIDE_BOARD_NAME; }

void port_idle(void) {
  /* With PRIMASK set a pending RXNE interrupt still ends WFI, so a byte that arrives
   * after the check is not missed; its handler runs after cpsie. */
  __asm volatile("cpsid i" ::: "memory");
  if (g_rx_tail == g_rx_head) __asm volatile("dsb\n wfi" ::: "memory");
  __asm volatile("cpsie i" ::: "memory");
}
