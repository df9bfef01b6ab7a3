"""Firmware builds and emulation: the CMake build of a target (`firmware`), QEMU and the
host program (`qemu`), GCC's call-graph stack bound (`callgraph`), PlatformIO (`cmd_flash`)."""
