"""Serving on a socket the service manager opened: systemd socket activation (sd_listen_fds).

With a `kanyan.socket` unit (docs/deploy.md) the port stays open while Kanyan restarts:
browsers and phones that reconnect meanwhile wait in the kernel's queue and are served as soon
as the new process is up, instead of being refused and backing off.
"""

from __future__ import annotations

import os
import socket
from collections.abc import MutableMapping

from server.errors import ConfigError

LISTEN_FDS_START = 3  # the first socket systemd passes (SD_LISTEN_FDS_START)


def inherited_socket(environ: MutableMapping[str, str] | None = None) -> socket.socket | None:
    """The listening socket passed to this process, if any. The variables are removed so that
    no child process (the recorder) takes them for its own."""
    env = os.environ if environ is None else environ
    if env.get("LISTEN_PID") != str(os.getpid()):
        return None
    count = env.get("LISTEN_FDS", "0")
    for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(key, None)
    if count != "1":
        if count == "0":
            return None
        raise ConfigError(f"expected one socket from the service manager, got LISTEN_FDS={count}")
    sock = socket.socket(fileno=LISTEN_FDS_START)
    if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
        sock.detach()
        raise ConfigError("the socket from the service manager is not a TCP socket")
    sock.set_inheritable(False)
    return sock
