# Toolchain file: Xtensa LX106 (the ESP8266 core; Debian's xtensa-lx106-elf-gcc with
# picolibc). Debian installs picolibc's specs outside GCC's search path: the board table
# (firmware/boards.toml) names them by their full path. No libstdc++: the firmware uses C
# headers only and links with the C driver (firmware/CMakeLists.txt).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR xtensa)
set(CMAKE_C_COMPILER xtensa-lx106-elf-gcc)
set(CMAKE_CXX_COMPILER xtensa-lx106-elf-g++)
set(CMAKE_ASM_COMPILER xtensa-lx106-elf-gcc)
set(CMAKE_OBJCOPY xtensa-lx106-elf-objcopy)
set(CMAKE_SIZE xtensa-lx106-elf-size)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
