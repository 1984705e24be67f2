"""Seed 001's meter registry: locations, meter models, measurements, registers, hosts and the
measurements assigned to a host (each assignment is a series of readings)."""
