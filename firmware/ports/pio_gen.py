"""PlatformIO extra script (platformio.ini, library.json): the run's generated model and the
kit's strict warnings.

The generated folder is RUN_DIR/int8/gen, named by the environment variable BEDSIDE_GEN_DIR
(`bedside flash RUN_DIR --env ENV` sets it) or the option `custom_bedside_gen_dir`; there
is no default, so a build never picks up a model by accident. Without it a build stops with
a message, while PlatformIO's IDE metadata pass (`pio project metadata`, IDE indexing)
carries on without the model. The backend comes from `custom_bedside_backend` (compiled:
model_engine.cc, tflm: model_data.cc).

`custom_bedside_linkflags` (bare-metal envs) are added to the link command line.

-Werror is added to the kit's own sources (firmware/ and the generated model) only, never
to the framework's or the libraries', and not to the Arduino port, which includes the
framework's Arduino.h.
"""
import os

Import("env")  # noqa: F821  (provided by PlatformIO/SCons)

project = env.subst("$PROJECT_DIR")  # noqa: F821
gen = os.environ.get("BEDSIDE_GEN_DIR") or env.GetProjectOption(  # noqa: F821
    "custom_bedside_gen_dir", "")
backend = env.GetProjectOption("custom_bedside_backend", "compiled")  # noqa: F821
try:  # used through lib_deps (library.json): the kit is the library, not the project
    Import("pio_lib_builder")  # noqa: F821
    kit = os.path.join(pio_lib_builder.path, "firmware")  # noqa: F821
except Exception:  # noqa: BLE001  (SCons raises its own error for a name not exported)
    kit = os.path.join(project, "firmware")
if gen:
    gen = os.path.abspath(os.path.join(project, gen))
if not gen or not os.path.isfile(os.path.join(gen, "model_config.h")):
    message = (f"bedside: {gen or 'BEDSIDE_GEN_DIR'}: no generated model (model_config.h). Run "
               "`bedside convert RUN_DIR`, then `bedside flash RUN_DIR --env ENV`, or set "
               "BEDSIDE_GEN_DIR=RUN_DIR/int8/gen")
    print(message)
    if not env.IsIntegrationDump():  # noqa: F821  (the IDE metadata pass needs no model)
        env.Exit(1)  # noqa: F821
else:
    env.Append(CPPPATH=[gen])  # noqa: F821
    source = "model_engine.cc" if backend == "compiled" else "model_data.cc"
    env.BuildSources("$BUILD_DIR/bedside_gen", gen, src_filter=[f"+<{source}>"])  # noqa: F821


env.Append(LINKFLAGS=env.subst(env.GetProjectOption("custom_bedside_linkflags", "")).split())  # noqa: F821


def _strict(env, node):
    path = node.srcnode().get_abspath()
    own = path.startswith(kit + os.sep) or (gen and path.startswith(gen + os.sep))
    if not own or os.sep + os.path.join("ports", "arduino") + os.sep in path:
        return node
    return env.Object(node, CCFLAGS=env["CCFLAGS"] + ["-Werror"])


env.AddBuildMiddleware(_strict)  # noqa: F821
