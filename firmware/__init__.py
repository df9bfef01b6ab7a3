"""The firmware's C++ sources and CMake files, shipped as package data (`bedside.firmware`)."""
