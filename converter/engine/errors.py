"""The generator's errors (each message names the op or tensor and the reason)."""


class EngineError(ValueError):
    """The model cannot be compiled (the message names the op and the reason)."""


class UnsupportedOpError(EngineError):
    """The model uses an op (or op variant) the compiled engine does not implement."""

    def __init__(self, op: str, detail: str = "", index: int | None = None):
        where = f" (operator {index})" if index is not None else ""
        why = f": {detail}" if detail else ""
        super().__init__(f"op {op}{where} is not supported by the compiled engine{why}; "
                         f"use the `tflm` backend for this model")
        self.op = op


class InvalidModelError(EngineError):
    """The model's metadata is malformed (TFLM would refuse it); the message names the tensor."""
