// The model runner (DESIGN.md contract 3): run one int8 window, return output and cycles.
//
// One interface, two backends chosen at build time: runner_compiled.cc (the generated
// engine, default) and runner_tflm.cc (TFLM's MicroInterpreter, where TFLM is provided).
#ifndef BEDSIDE_CORE_MODEL_RUNNER_H_
#define BEDSIDE_CORE_MODEL_RUNNER_H_

#include <stdint.h>

// Backend ids as reported in INFO.
#define BEDSIDE_BACKEND_COMPILED 0
#define BEDSIDE_BACKEND_TFLM 1

// Prepare the backend once at start-up (TFLM: allocate tensors in its static arena).
bool model_init(void);
// in: the model's input tensor bytes; out: its output tensor bytes; cycles: port_cycles()
// spent in the inference. Returns false if the backend failed.
bool model_run(const int8_t *in, int8_t *out, uint32_t *cycles);
// 0 compiled, 1 tflm.
int model_backend(void);
// Arena bytes the backend uses (INFO arena_bytes).
uint32_t model_arena_bytes(void);

#endif  // BEDSIDE_CORE_MODEL_RUNNER_H_
