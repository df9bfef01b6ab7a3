# The target table: what `-DBEDSIDE_TARGET=<name>` builds. One row per target:
#   name  port (firmware/ports/<port>/)  port sources  linker script  toolchain
#   (firmware/cmake/<toolchain>.cmake)  counter clock Hz (what port_cycles counts, in INFO)
#   compiler flags...
# The host row builds firmware/ports/host/ with the native compiler. host_tools/
# firmware_build.py holds the matching table of what runs each target (QEMU machine,
# RAM and flash budgets).
set(BEDSIDE_TARGETS "")
macro(bedside_target name port sources ldscript toolchain clock_hz)
  list(APPEND BEDSIDE_TARGETS ${name})
  if(BEDSIDE_TARGET STREQUAL "${name}")
    set(BEDSIDE_PORT ${port})
    set(BEDSIDE_PORT_SOURCES ${sources})
    set(BEDSIDE_LDSCRIPT ${ldscript})
    set(BEDSIDE_TOOLCHAIN ${toolchain})
    set(BEDSIDE_CLOCK_HZ ${clock_hz})
    set(BEDSIDE_CPU_FLAGS ${ARGN})
  endif()
endmacro()

set(_m4f -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
bedside_target(host       host     "" "" "" 1000000000)  # port_cycles: nanoseconds
bedside_target(mps2-an385 cortex_m "startup.c;systick.c;port_mps2.c" mps2.ld arm-none-eabi 25000000
               -mcpu=cortex-m3 -mthumb -mfloat-abi=soft)
bedside_target(mps2-an386 cortex_m "startup.c;systick.c;port_mps2.c" mps2.ld arm-none-eabi 25000000
               ${_m4f})
# QEMU clocks the AN500 SysTick at 25 MHz too (measured)
bedside_target(mps2-an500 cortex_m "startup.c;systick.c;port_mps2.c" mps2.ld arm-none-eabi 25000000
               -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16)
# STM32F405 in QEMU: USART1, SysTick at the model's 168 MHz (the Nucleo-F446RE
# PlatformIO env builds the same port with USART2 at 16 MHz)
bedside_target(netduinoplus2 cortex_m "startup.c;systick.c;port_stm32f4.c" stm32f4.ld arm-none-eabi
               168000000 ${_m4f} -DBEDSIDE_STM32_USART=1)
# nRF51822: no SysTick (TIMER0 counts), no DSP (the engine's portable kernels)
bedside_target(microbit   cortex_m "startup.c;port_nrf51.c" nrf51.ld arm-none-eabi 16000000
               -mcpu=cortex-m0 -mthumb -mfloat-abi=soft)
# An STM32C011-class budget (Cortex-M0+, 6 KB RAM, 32 KB flash) on QEMU's microbit: the
# nRF51 port with those sizes in its linker script; state arrays sized for up to 8 signals
# and 8 personalization blocks (preprocess.h)
bedside_target(stm32c011  cortex_m "startup.c;port_nrf51.c" stm32c011.ld arm-none-eabi 16000000
               -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft -DBEDSIDE_MAX_SIGNALS=8
               -DBEDSIDE_MAX_BLOCKS=8)
# rv32imc: the ESP32-C3 instruction set; minstret counts instructions under -icount shift=0
bedside_target(riscv32    riscv    "start.S;port_virt.c" virt.ld riscv-none-elf 1000000000
               -march=rv32imc -mabi=ilp32)
# Xtensa LX106 (ESP8266): compiled and linked for its sizes, not run (QEMU has no such board)
bedside_target(xtensa-lx106 xtensa "port_esp8266.c" esp8266.ld xtensa-lx106-elf 80000000
               -mlongcalls -mtext-section-literals)
