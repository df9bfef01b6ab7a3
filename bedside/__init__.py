"""bedside-kit: what training, converter, firmware generation and host tools share.

`bedside.contract` holds the device contract (signals, integer preprocessing, window,
alarm, personalization, manifest, serial protocol) and imports neither TensorFlow nor
tflite-micro; `bedside.cli` is the `bedside` command line.
"""
