// Compiled int8 engine: umbrella header for the generated model_engine.cc.
// Kernels follow TFLite Micro's int8 reference kernels bit for bit (docs/engine.md).
#ifndef BEDSIDE_ENGINE_ENGINE_H_
#define BEDSIDE_ENGINE_ENGINE_H_

// Format of the generated code these kernels accept; the generator writes
// BEDSIDE_ENGINE_GEN_FORMAT and model_engine.cc refuses to build when they differ.
#define BEDSIDE_ENGINE_FORMAT 4  // 2: model_engine_held(); 3: CONV_2D scratch holds two im2col fields; 4: four

// Per-op profiling hook, called after each op of model_engine_invoke: the engine
// benchmark (`bedside bench engine --per-op`) builds with BEDSIDE_ENGINE_PROFILE and
// defines bedside_engine_op_done; everywhere else it compiles to nothing.
#ifdef BEDSIDE_ENGINE_PROFILE
extern "C" void bedside_engine_op_done(int op_index);
#define BEDSIDE_ENGINE_OP_DONE(i) bedside_engine_op_done(i)
#else
#define BEDSIDE_ENGINE_OP_DONE(i) ((void)0)
#endif

#include "kernels/common.h"
#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fully_connected.h"
#include "kernels/pooling.h"
#include "kernels/mean.h"
#include "kernels/elementwise.h"
#include "kernels/lut.h"
#include "kernels/quantize.h"
#include "kernels/concatenation.h"
#include "kernels/softmax.h"
#include "kernels/pad.h"
#include "kernels/strided_slice.h"

#endif  // BEDSIDE_ENGINE_ENGINE_H_
