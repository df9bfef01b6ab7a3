"""Host tools: serial link, protocol codec, Python reference, verification bench, reports.

Imports only numpy, pyserial and rich (markdown-it-py for HTML reports); the TFLM wheel
(`tflite-micro`, the `reference` extra) and matplotlib (`plots`) when they are installed.
A bench PC verifies devices without TensorFlow, and a converted run without the wheel.
"""
