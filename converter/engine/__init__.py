"""The compiled int8 engine: .tflite -> C++ calling firmware/engine kernels (docs/engine.md).

    from bedside.converter.engine import generate
    info = generate(tflite_bytes, Path("gen"), command="bedside convert ...")
"""
from pathlib import Path

from bedside.kitfiles import FIRMWARE_DIR

from .codegen import generate, render
from .errors import EngineError, InvalidModelError, UnsupportedOpError
from .ops import REGISTRY as _REGISTRY
from .tflite_reader import TFLiteFormatError, read_model

SUPPORTED_OPS = frozenset(_REGISTRY)
# Where the kernels live (add to the include path next to the generated sources).
KERNEL_DIR = FIRMWARE_DIR / "engine"

__all__ = ["generate", "render", "read_model", "SUPPORTED_OPS", "KERNEL_DIR", "EngineError",
           "InvalidModelError", "UnsupportedOpError", "TFLiteFormatError"]
