"""Hardware-in-the-loop: the pytest plugin (`bedside_device`, `bedside_devices` fixtures)."""
