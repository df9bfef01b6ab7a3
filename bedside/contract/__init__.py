"""The device contract, TensorFlow-free: what the firmware, the Python reference and the
host tools must agree on bit for bit. The bottom floor: nothing here imports anything else
of the kit (tests/test_imports.py), every other part imports it."""
