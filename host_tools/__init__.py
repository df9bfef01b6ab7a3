"""Host tools: serial link, protocol codec, Python reference, verification bench, reports.

Imports only numpy, pyserial, tflite-micro (and rich/matplotlib for output): a bench PC
verifies devices without TensorFlow.
"""
