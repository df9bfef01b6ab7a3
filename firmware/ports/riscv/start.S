/* RISC-V (rv32) reset entry: global and stack pointers, a trap vector that parks the hart
 * (a fault stops here; QEMU's -d int shows where), then C start-up in port_virt.c. */
  .option arch, +zicsr   /* CSR instructions: part of rv32imc before the 2019 ISA split */
  .section .text.start, "ax"
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  la sp, __stack_top
  la t0, trap_park
  csrw mtvec, t0
  j riscv_reset

  .align 2
trap_park:
  wfi
  j trap_park
