"""Op registry: builtin op name -> module with `lower(op, gen)` (and optional `scratch_bytes`).

Adding an op = one module here + one header in firmware/engine/kernels/ + one line below.
"""
from . import (add, average_pool_2d, concatenation, conv_2d, depthwise_conv_2d, dequantize,
               fully_connected, leaky_relu, logistic, max_pool_2d, mean, mul, quantize, relu,
               reshape, sub, tanh)
from . import pad, softmax, strided_slice

REGISTRY = {
    "ADD": add,
    "AVERAGE_POOL_2D": average_pool_2d,
    "CONCATENATION": concatenation,
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "DEQUANTIZE": dequantize,
    "EXPAND_DIMS": reshape,
    "FULLY_CONNECTED": fully_connected,
    "LEAKY_RELU": leaky_relu,
    "LOGISTIC": logistic,
    "MAX_POOL_2D": max_pool_2d,
    "MEAN": mean,
    "MUL": mul,
    "QUANTIZE": quantize,
    "RELU": relu,
    "RELU6": relu,
    "RELU_N1_TO_1": relu,
    "RESHAPE": reshape,
    "SQUEEZE": reshape,
    "SUB": sub,
    "TANH": tanh,
    "PAD": pad,
    "PADV2": pad,
    "SOFTMAX": softmax,
    "STRIDED_SLICE": strided_slice,
}
