// Model runner backend `compiled`: calls the engine the converter generated (model_engine.cc).
#include <string.h>

#include "gen_format.h"  // first: the generated headers check it too
#include "model_engine.h"
#include "model_runner.h"
#include "port.h"

bool model_init(void) { return true; }

bool model_run(const int8_t *in, int8_t *out, uint32_t *cycles) {
  const uint32_t start = port_cycles();
  const int rc = model_engine_invoke(in, out);
  *cycles = port_cycles() - start;
  return rc == 0;
}

int model_format(void) { return BEDSIDE_ENGINE_GEN_FORMAT; }

int model_backend(void) { return BEDSIDE_BACKEND_COMPILED; }

uint32_t model_arena_bytes(void) { return (uint32_t)MODEL_ENGINE_ARENA_BYTES; }

void model_held(ModelHeldVisit visit, void *ctx) { model_engine_held(visit, ctx); }
