"""The one wrapper around TFLM's Python interpreter (the `tflite-micro` wheel).

The wheel's default arena (10x the model's size) is too small for tiny models, so every
caller gets an explicit arena. Imported lazily: the contract and a bench PC without the
wheel never load it.
"""
from __future__ import annotations

ARENA_BYTES = 1 << 22     # ample for every model the kit handles on a host


class TflmError(RuntimeError):
    """TFLM refused to load or run a model."""


def reference_version() -> str:
    """Version of the installed `tflite-micro` wheel (recorded with every verification)."""
    from importlib import metadata
    try:
        return metadata.version("tflite-micro")
    except metadata.PackageNotFoundError:
        return "not installed"


def interpreter(model: bytes, arena_size: int = ARENA_BYTES):
    """A `tflite_micro.runtime.Interpreter` for `model`, or TflmError with TFLM's reason."""
    try:
        from tflite_micro import runtime
    except ImportError as e:
        raise TflmError("the TFLM reference is not installed: pip install 'bedside-kit[reference]'") from e
    try:
        return runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    except Exception as e:  # noqa: BLE001 - the wheel raises plain RuntimeError/ValueError
        raise TflmError(f"TFLite Micro cannot load the model: {str(e).strip()[:400]}") from e
