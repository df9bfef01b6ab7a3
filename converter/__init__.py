"""Converter: int8 TFLite Micro model, manifest, generated firmware sources, compiled engine.

`manifest` is pure Python (host tools read it without TensorFlow); modules that quantize
import TensorFlow lazily.
"""
