"""Shared pytest set-up. Fixtures live in per-stage modules so each stage owns its own."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

pytest_plugins = [
    "tests.fixtures.training",   # quick_run_dir: data + teacher + student (quick profile)
    "tests.fixtures.convert",    # converted_run_dir: quick_run_dir + bedside convert
    "tests.fixtures.firmware",   # built firmware for host / mps2-an386
]
