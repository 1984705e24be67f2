"""Modbus TCP: register decoding, the reading plan of a host, the simulated meters and the poller."""
