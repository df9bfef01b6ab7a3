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
#define IRQ(n) void Irq##n##_Handler(void) __attribute__((weak, alias("Default_Handler")));
IRQ(0) IRQ(1) IRQ(2) IRQ(3) IRQ(4) IRQ(5) IRQ(6) IRQ(7) IRQ(8) IRQ(9) IRQ(10) IRQ(11)
IRQ(12) IRQ(13) IRQ(14) IRQ(15) IRQ(16) IRQ(17) IRQ(18) IRQ(19) IRQ(20) IRQ(21) IRQ(22)
IRQ(23) IRQ(24) IRQ(25) IRQ(26) IRQ(27) IRQ(28) IRQ(29) IRQ(30) IRQ(31) IRQ(32) IRQ(33)
IRQ(34) IRQ(35) IRQ(36) IRQ(37) IRQ(38) IRQ(39) IRQ(40) IRQ(41) IRQ(42) IRQ(43) IRQ(44)
IRQ(45) IRQ(46) IRQ(47) IRQ(48) IRQ(49) IRQ(50) IRQ(51) IRQ(52) IRQ(53) IRQ(54) IRQ(55)
IRQ(56) IRQ(57) IRQ(58) IRQ(59) IRQ(60) IRQ(61) IRQ(62) IRQ(63) IRQ(64) IRQ(65) IRQ(66)
IRQ(67) IRQ(68) IRQ(69) IRQ(70) IRQ(71) IRQ(72) IRQ(73) IRQ(74) IRQ(75) IRQ(76) IRQ(77)
IRQ(78) IRQ(79) IRQ(80) IRQ(81)
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
VEC(0) VEC(1) VEC(2) VEC(3) VEC(4) VEC(5) VEC(6) VEC(7) VEC(8) VEC(9) VEC(10) VEC(11)
VEC(12) VEC(13) VEC(14) VEC(15) VEC(16) VEC(17) VEC(18) VEC(19) VEC(20) VEC(21) VEC(22)
VEC(23) VEC(24) VEC(25) VEC(26) VEC(27) VEC(28) VEC(29) VEC(30) VEC(31) VEC(32) VEC(33)
VEC(34) VEC(35) VEC(36) VEC(37) VEC(38) VEC(39) VEC(40) VEC(41) VEC(42) VEC(43) VEC(44)
VEC(45) VEC(46) VEC(47) VEC(48) VEC(49) VEC(50) VEC(51) VEC(52) VEC(53) VEC(54) VEC(55)
VEC(56) VEC(57) VEC(58) VEC(59) VEC(60) VEC(61) VEC(62) VEC(63) VEC(64) VEC(65) VEC(66)
VEC(67) VEC(68) VEC(69) VEC(70) VEC(71) VEC(72) VEC(73) VEC(74) VEC(75) VEC(76) VEC(77)
VEC(78) VEC(79) VEC(80) VEC(81)
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
