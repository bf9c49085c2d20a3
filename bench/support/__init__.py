"""What the benchmarks share: synthetic media, aiortc peers in their own processes, and the
harness that starts the server and measures it. Nothing here is imported by the product."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ensure_dependencies() -> None:
    """Install Kanyan (and with it aiortc, PyAV, psutil, …) into this venv when missing."""
    needed = ("aiortc", "aiohttp", "aiosqlite", "av", "cv2", "numpy", "psutil", "prometheus_client")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        print(f"installing into {sys.prefix}: {', '.join(missing)} missing", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "-e", str(ROOT)])
