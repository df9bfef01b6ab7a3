"""The device contract, TensorFlow-free: what the firmware, the Python reference and the
host tools must agree on bit for bit. Nothing here imports `training`, `converter` or
`host_tools`; they import it."""
