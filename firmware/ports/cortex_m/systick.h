/* SysTick as a 32-bit cycle counter and millisecond clock (MPS2 and STM32 boards; the
 * nRF51 has no SysTick and counts with TIMER0 instead). */
#ifndef BEDSIDE_PORTS_CORTEX_M_SYSTICK_H_
#define BEDSIDE_PORTS_CORTEX_M_SYSTICK_H_

/* Start SysTick from the core clock (BEDSIDE_CORE_CLOCK_HZ) with its interrupt extending
 * the 24-bit down-counter; port_cycles() and port_millis() read it. */
void systick_start(void);

#endif /* BEDSIDE_PORTS_CORTEX_M_SYSTICK_H_ */
