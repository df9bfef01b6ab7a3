"""Host tools (installed as `bedside.host_tools`), in rooms: `link/` (serial links, ports,
monitor), `verify/` (verification and reports), `builder/` (CMake builds, QEMU, PlatformIO),
`hil/` (pytest plugin). numpy, pyserial and rich; never TensorFlow."""
