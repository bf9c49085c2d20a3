"""The page scripts' pure parts, run by node's own test runner (tests/js/*.test.mjs): the uplink
judgement, freeze counting, the wake lock's return to the foreground, the camera tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).resolve().parents[1] / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_script_units_pass_under_node():
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert files
    result = subprocess.run(["node", "--test", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
