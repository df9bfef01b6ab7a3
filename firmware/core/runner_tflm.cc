// Model runner backend `tflm`: TensorFlow Lite Micro's MicroInterpreter on the generated
// model data, with an op resolver holding exactly the model's ops and the manifest's arena.
// Compiled only where TFLM is provided (PlatformIO lib_deps, or CMake -DTFLM_DIR=...).
#include <string.h>

#include <new>

#include "gen_format.h"  // first: the generated headers check it too
#include "model_config.h"
#include "model_data.h"
#include "model_ops.h"
#include "model_runner.h"
#include "port.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace {
alignas(16) uint8_t g_arena[bedside_gen::kTflmArenaBytes];
tflite::MicroInterpreter *g_interpreter = nullptr;
// Static storage for the resolver and interpreter: no heap.
alignas(tflite::MicroMutableOpResolver<BEDSIDE_TFLM_OP_COUNT>) uint8_t
    g_resolver_buf[sizeof(tflite::MicroMutableOpResolver<BEDSIDE_TFLM_OP_COUNT>)];
alignas(tflite::MicroInterpreter) uint8_t g_interpreter_buf[sizeof(tflite::MicroInterpreter)];
}  // namespace

bool model_init(void) {
  const tflite::Model *model = tflite::GetModel(g_model_data);
  if (model->version() != TFLITE_SCHEMA_VERSION) return false;
  auto *resolver = new (g_resolver_buf) tflite::MicroMutableOpResolver<BEDSIDE_TFLM_OP_COUNT>();
  BEDSIDE_REGISTER_OPS((*resolver));
  g_interpreter = new (g_interpreter_buf)
      tflite::MicroInterpreter(model, *resolver, g_arena, sizeof(g_arena));
  if (g_interpreter->AllocateTensors() != kTfLiteOk) {
    g_interpreter = nullptr;
    return false;
  }
  return g_interpreter->input(0)->bytes == (size_t)bedside_gen::kInputBytes &&
         g_interpreter->output(0)->bytes == (size_t)bedside_gen::kOutputBytes;
}

bool model_run(const int8_t *in, int8_t *out, uint32_t *cycles) {
  if (g_interpreter == nullptr) return false;
  memcpy(g_interpreter->input(0)->data.raw, in, bedside_gen::kInputBytes);
  const uint32_t start = port_cycles();
  const TfLiteStatus status = g_interpreter->Invoke();
  *cycles = port_cycles() - start;
  memcpy(out, g_interpreter->output(0)->data.raw, bedside_gen::kOutputBytes);
  return status == kTfLiteOk;
}

int model_format(void) { return 0; }

int model_backend(void) { return BEDSIDE_BACKEND_TFLM; }

uint32_t model_arena_bytes(void) {
  return g_interpreter ? (uint32_t)g_interpreter->arena_used_bytes() : bedside_gen::kTflmArenaBytes;
}

void model_held(ModelHeldVisit visit, void *ctx) { visit(ctx, g_model_data, 1u, g_model_data_len); }
