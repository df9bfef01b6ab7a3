/* Cortex-M start-up for every board: vector table, .data/.bss set-up, FPU enable, C++
 * constructors, main.
 *
 * External interrupt n goes to Irq<n>_Handler, weak and parked in Default_Handler unless
 * the board port defines it (MPS2 UART0 RX: Irq0, nRF51 UART0: Irq2, STM32F4 USART1:
 * Irq37). 82 vectors cover the STM32F405; smaller parts never raise the upper ones. */
#include <stdint.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
extern int main(void);
void Reset_Handler(void);

static void Default_Handler(void) {
  for (;;) {
  }
}

/* Faults stop here: a debugger (or QEMU's -d) shows where. */
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
/* The external interrupts (mps2: 0..81), one list for the handlers and the vector table. */
#define BEDSIDE_IRQS(X) \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) \
    X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) \
    X(30) X(31) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) \
    X(44) X(45) X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) X(57) \
    X(58) X(59) X(60) X(61) X(62) X(63) X(64) X(65) X(66) X(67) X(68) X(69) X(70) X(71) \
    X(72) X(73) X(74) X(75) X(76) X(77) X(78) X(79) X(80) X(81)
#define IRQ(n) void Irq##n##_Handler(void) __attribute__((weak, alias("Default_Handler")));
BEDSIDE_IRQS(IRQ)
#undef IRQ

typedef void (*vector_t)(void);
#define VEC(n) Irq##n##_Handler,

__attribute__((section(".vectors"), used)) static const vector_t g_vectors[] = {
    (vector_t)&__stack_top,
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler,
    Default_Handler,   /* MemManage */
    Default_Handler,   /* BusFault */
    Default_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMonitor */
    0,
    Default_Handler,   /* PendSV */
    SysTick_Handler,
BEDSIDE_IRQS(VEC)
};
#undef VEC

void Reset_Handler(void) {
  uint32_t *src = &__data_load, *dst = &__data_start;
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end; ++dst) *dst = 0;
#if defined(__ARM_FP)
  /* Full access to CP10/CP11 (the FPU) before any floating-point instruction. */
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
  __asm volatile("dsb\n isb");
#endif
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  main();
  for (;;) {
  }
}
