"""Benchmarks that print JSON; ``room_mix`` is what the room benchmarks send."""
