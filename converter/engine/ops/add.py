"""ADD (int8, broadcast up to 4-D) -> bedside_engine::Add (kernels/elementwise.h)."""
from ._binary import lower_binary


def lower(op, g):
    lower_binary(op, g, "Add")
