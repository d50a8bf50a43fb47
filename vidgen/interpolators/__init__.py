"""Frame interpolation methods: each has ``prepare(frame0, frame1)`` and ``interpolate(state, t)``."""
