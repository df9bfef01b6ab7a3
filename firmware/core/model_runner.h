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
// Format version of the generated model sources the backend runs (INFO model_format):
// compiled BEDSIDE_ENGINE_GEN_FORMAT of model_engine.h, tflm 0 (the flatbuffer's own).
int model_format(void);
// Arena bytes the backend uses (INFO arena_bytes).
uint32_t model_arena_bytes(void);
// Visits the bytes that define the model the backend runs, read from the objects it runs
// (INFO held_sha256, docs/protocol.md): `count` elements of `elem_bytes`, in the target's
// byte order. compiled: every weight array and parameter the kernels read (generated
// model_engine_held); tflm: the flatbuffer handed to the interpreter.
typedef void (*ModelHeldVisit)(void *ctx, const void *data, unsigned elem_bytes, unsigned count);
void model_held(ModelHeldVisit visit, void *ctx);

#endif  // BEDSIDE_CORE_MODEL_RUNNER_H_
