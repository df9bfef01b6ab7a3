"""The reference a device is verified against: the integer pipeline of a run's manifest
(`pipeline`), TFLM's own interpreter (`tflm`) and the stored int8 outputs of the test
patients (`stored`). numpy, plus tflite_micro when installed; never TensorFlow."""
