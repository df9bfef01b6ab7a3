"""Converter (installed as `bedside.converter`): int8 TFLite Micro model, manifest,
generated firmware sources, compiled engine. TensorFlow is imported lazily."""
