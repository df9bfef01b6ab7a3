"""PlatformIO extra script (library.json): the run's generated model, the backend's runner,
the environment's board port and the kit's strict warnings.

`bedside flash RUN_DIR --env ENV` writes RUN_DIR/pio/platformio.ini from the board table
(firmware/boards.toml) with the kit's firmware as a library; this script is the library's
extra script. The generated folder is RUN_DIR/int8/gen, named by the environment variable
BEDSIDE_GEN_DIR or the option `custom_bedside_gen_dir` (relative to the project); there is
no default, so a build never picks up a model by accident. Without it a build stops with a
message, while PlatformIO's IDE metadata pass (`pio project metadata`, IDE indexing)
carries on without the model. The backend comes from `custom_bedside_backend` (compiled:
core/runner_compiled.cc + model_engine.cc, tflm: core/runner_tflm.cc + model_data.cc).

`custom_bedside_port_sources` (firmware-relative paths) are the board's port, compiled with
their folder on the include path; `custom_bedside_linkflags` (bare-metal envs) are added to
the link command line, with ports/common/ (sections.ld) on the library path.

-Werror is added to the kit's own sources (firmware/ and the generated model) only, never
to the framework's or the libraries', and not to the Arduino port, which includes the
framework's Arduino.h.
"""
import os

Import("env")  # noqa: F821  (provided by PlatformIO/SCons)

project = env.subst("$PROJECT_DIR")  # noqa: F821
option = env.GetProjectOption  # noqa: F821
gen = os.environ.get("BEDSIDE_GEN_DIR") or option("custom_bedside_gen_dir", "")
backend = option("custom_bedside_backend", "compiled")
try:  # the kit is the library (lib_deps), not the project
    Import("pio_lib_builder")  # noqa: F821
    kit = os.path.realpath(os.path.join(pio_lib_builder.path, "firmware"))  # noqa: F821
except Exception:  # noqa: BLE001  (SCons raises its own error for a name not exported)
    kit = os.path.realpath(os.path.join(project, "firmware"))
if gen:
    gen = os.path.realpath(os.path.join(project, gen))
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
    env.BuildSources("$BUILD_DIR/bedside_runner", os.path.join(kit, "core"),  # noqa: F821
                     src_filter=[f"+<runner_{backend}.cc>"])
    port_sources = option("custom_bedside_port_sources", "").split()
    if port_sources:
        env.Append(CPPPATH=sorted({os.path.join(kit, os.path.dirname(s)) for s in port_sources}))  # noqa: F821
        env.BuildSources("$BUILD_DIR/bedside_port", kit,  # noqa: F821
                         src_filter=[f"+<{s}>" for s in port_sources])

env.Append(LINKFLAGS=[f"-L{os.path.join(kit, 'ports', 'common')}",  # noqa: F821
                      *env.subst(option("custom_bedside_linkflags", "")).split()])  # noqa: F821


def _strict(env, node):
    path = os.path.realpath(node.srcnode().get_abspath())
    own = path.startswith(kit + os.sep) or (gen and path.startswith(gen + os.sep))
    if not own or os.sep + os.path.join("ports", "arduino") + os.sep in path:
        return node
    return env.Object(node, CCFLAGS=env["CCFLAGS"] + ["-Werror"])


env.AddBuildMiddleware(_strict)  # noqa: F821
