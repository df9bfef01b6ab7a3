"""Serial links: the device client (`client`), fault injection (`faultlink`), baud-rate
throttling (`throttle`), protocol test vectors, and the `ports` and `monitor` commands."""
