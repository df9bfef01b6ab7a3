"""Shared pytest set-up. Fixtures live in per-stage modules so each stage owns its own."""
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

pytest_plugins = [
    "tests.fixtures.training",   # quick_run_dir: data + teacher + student (quick profile)
    "tests.fixtures.convert",    # converted_run_dir: quick_run_dir + bedside convert
    "tests.fixtures.firmware",   # built firmware for host / mps2-an386
]


def pytest_sessionstart(session):
    """In CI every toolchain must be there: a missing one would only skip tests."""
    if os.environ.get("CI"):
        tools = ("cmake", "g++", "clang++", "arm-none-eabi-g++", "qemu-system-arm",
                 "riscv64-unknown-elf-gcc", "qemu-system-riscv32", "xtensa-lx106-elf-gcc")
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            raise RuntimeError(f"CI needs {', '.join(missing)} (./run.sh installs them as root)")
