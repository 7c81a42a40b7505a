"""The one free-port picker."""
import socket


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's
    choice for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
