// Arduino port: the bedside loop on any Arduino-framework board (ESP32, nRF52, STM32).
//
// Uses only Serial, micros(), millis(), analogRead(), pinMode() and digitalWrite()
// (compile_check/Arduino.h declares exactly these for the host compile check). Build it
// with PlatformIO (platformio.ini at the repository root; docs/firmware.md).
//
// Build flags: BEDSIDE_SOURCE 0 = samples from the host (default), 1 = built-in simulator,
// 2 = sensors (stand-alone: one EVENT frame per window on Serial, for
// `bedside monitor --listen`); BEDSIDE_PERIOD_MS stand-alone sample period; BEDSIDE_BOARD board name;
// BEDSIDE_ANALOG_PINS e.g. "{A0, A1}" maps analog inputs to the first signals (raw = ADC
// reading; calibrate in bedside_sensor_read for real sensors).
#include <Arduino.h>

#include "app.h"
#include "port.h"

#ifndef BEDSIDE_SOURCE
#define BEDSIDE_SOURCE 0
#endif
#ifndef BEDSIDE_PERIOD_MS
#define BEDSIDE_PERIOD_MS 1000
#endif
#ifndef BEDSIDE_BOARD
#define BEDSIDE_BOARD "arduino"
#endif
#ifndef BEDSIDE_BAUD
#define BEDSIDE_BAUD 115200
#endif
#ifndef LED_BUILTIN
#define LED_BUILTIN 2
#endif

extern "C" {

int port_serial_read(uint8_t *buf, int max_len) {
  int n = 0;
  while (n < max_len && Serial.available() > 0) {
    const int c = Serial.read();
    if (c < 0) break;
    buf[n++] = (uint8_t)c;
  }
  return n;
}

void port_serial_write(const uint8_t *buf, int len) { Serial.write(buf, (size_t)len); }

// Arduino has no portable cycle counter: cycles are microseconds (INFO: 1 MHz clock).
uint32_t port_cycles(void) { return (uint32_t)micros(); }

uint32_t port_millis(void) { return (uint32_t)millis(); }

bool port_sensor_read(int16_t *sample, int n_signals) {
#ifdef BEDSIDE_ANALOG_PINS
  static const uint8_t kPins[] = BEDSIDE_ANALOG_PINS;
  const int n_pins = (int)(sizeof(kPins) / sizeof(kPins[0]));
  for (int i = 0; i < n_signals; ++i) sample[i] = i < n_pins ? (int16_t)analogRead(kPins[i]) : (int16_t)-32768;
  return true;
#else
  (void)sample;
  (void)n_signals;
  return false;
#endif
}

void port_alarm_led(bool on) { digitalWrite(LED_BUILTIN, on ? HIGH : LOW); }

const char *port_board_name(void) { return BEDSIDE_BOARD; }

uint32_t port_core_clock_hz(void) { return 1000000u; }

void port_idle(void) {}

}  // extern "C"

void setup() {
  Serial.begin(BEDSIDE_BAUD);
  pinMode(LED_BUILTIN, OUTPUT);
  digitalWrite(LED_BUILTIN, LOW);
  bedside::AppOptions options;
  options.source = static_cast<bedside::Source>(BEDSIDE_SOURCE);
  options.period_ms = BEDSIDE_PERIOD_MS;
  bedside::app_setup(options);
}

void loop() { bedside::app_poll(); }
