/* The board port: the only functions a board must implement (DESIGN.md contract 4).
 *
 * Everything else in firmware/core/ is portable. A port lives in firmware/ports/<name>/
 * and provides these functions plus a tiny main() that calls app_setup() once and
 * app_poll() forever. C linkage so a port may be written in C.
 */
#ifndef BEDSIDE_CORE_PORT_H_
#define BEDSIDE_CORE_PORT_H_

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Serial link to the host. Read: non-blocking, returns the bytes copied (0 if none). */
int port_serial_read(uint8_t *buf, int max_len);
/* Write: returns when every byte has been handed to the link. */
void port_serial_write(const uint8_t *buf, int len);
/* Free-running 32-bit cycle counter (wraps; differences are taken modulo 2^32). */
uint32_t port_cycles(void);
/* Milliseconds since start (wraps). */
uint32_t port_millis(void);
/* Optional sensor: fill one raw sample (n_signals int16, manifest order; -32768 = missing).
 * Returns false when the board has no sensor or no new sample is ready. */
bool port_sensor_read(int16_t *sample, int n_signals);
/* Alarm indicator (LED, buzzer). */
void port_alarm_led(bool on);
/* Short board name reported in INFO (e.g. "host", "mps2-an386"). */
const char *port_board_name(void);
/* Core clock in Hz reported in INFO (what port_cycles counts). */
uint32_t port_core_clock_hz(void);
/* Called when the loop has nothing to do: may sleep until input arrives (or return at once). */
void port_idle(void);

#ifdef __cplusplus
}
#endif

#endif /* BEDSIDE_CORE_PORT_H_ */
