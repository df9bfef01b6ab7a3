"""AVERAGE_POOL_2D (int8) -> bedside_engine::AveragePool (kernels/pooling.h)."""
from ._pool import lower_pool


def lower(op, g):
    lower_pool(op, g, "AveragePool")
