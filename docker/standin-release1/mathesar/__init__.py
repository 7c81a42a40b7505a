"""The stand-in's app package, release 1 (overlay on docker/standin/)."""
__version__ = "0.10.0"
