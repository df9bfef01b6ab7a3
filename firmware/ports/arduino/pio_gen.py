"""PlatformIO extra script: compile the run's generated model sources into the firmware.

The generated directory comes from the environment variable BEDSIDE_GEN_DIR or the
option `custom_bedside_gen_dir` (default runs/latest/int8/gen); the backend from
`custom_bedside_backend` (compiled: model_engine.cc, tflm: model_data.cc).
"""
import os

Import("env")  # noqa: F821  (provided by PlatformIO/SCons)

project = env.subst("$PROJECT_DIR")  # noqa: F821
gen = os.environ.get("BEDSIDE_GEN_DIR") or env.GetProjectOption(  # noqa: F821
    "custom_bedside_gen_dir", "runs/latest/int8/gen")
gen = os.path.abspath(os.path.join(project, gen))
backend = env.GetProjectOption("custom_bedside_backend", "compiled")  # noqa: F821
if not os.path.isfile(os.path.join(gen, "model_config.h")):
    print(f"bedside: {gen}/model_config.h not found: run `bedside convert RUN_DIR` and set "
          "BEDSIDE_GEN_DIR=RUN_DIR/int8/gen (or custom_bedside_gen_dir in platformio.ini)")
    env.Exit(1)  # noqa: F821
env.Append(CPPPATH=[gen])  # noqa: F821
source = "model_engine.cc" if backend == "compiled" else "model_data.cc"
env.BuildSources("$BUILD_DIR/bedside_gen", gen, src_filter=[f"+<{source}>"])  # noqa: F821
