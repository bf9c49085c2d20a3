"""The bench's own network namespace.

Janus gathers no ICE candidates on loopback interfaces, and this machine's only other
interface leads off the machine. So the bench runs itself again inside a new network namespace
(`unshare --net`, as root) where it brings up `lo` and one more interface with a private
address (a dummy interface when the kernel has the module, else one end of a veth pair whose
other end stays in the namespace too). Kanyan, Janus and every peer run in there: nothing the
bench sends can leave the machine, and no port it binds clashes with anyone else's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

ADDRESS = "10.203.0.1"
INTERFACE = "kbench0"
_MARK = "KANYAN_BENCH_NETNS"


def inside() -> bool:
    return os.environ.get(_MARK) == "1"


def can_enter() -> bool:
    return (
        os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("ip") is not None
    )


def reenter() -> None:
    """Run this very command again in a new network namespace; returns only if it cannot."""
    command = ["unshare", "--net", "--", sys.executable, *sys.argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe("unshare", command, {**os.environ, _MARK: "1"})


def set_up() -> None:
    """`lo` up, and INTERFACE up with ADDRESS (run once, inside the namespace)."""

    def ip(*args: str, check: bool = True) -> bool:
        return subprocess.run(["ip", *args], capture_output=True, check=check).returncode == 0

    ip("link", "set", "lo", "up")
    if not ip("link", "add", INTERFACE, "type", "dummy", check=False):
        ip("link", "add", INTERFACE, "type", "veth", "peer", "name", INTERFACE + "p")
        ip("link", "set", INTERFACE + "p", "up")
    ip("addr", "add", f"{ADDRESS}/24", "dev", INTERFACE)
    ip("link", "set", INTERFACE, "up")
