"""Socket activation: only a socket passed to this very process is taken, and the variables
that say so do not leak to its children. (Serving on one: tests/e2e/test_server_restart.py.)"""

from __future__ import annotations

import os

import pytest

from server.errors import ConfigError
from web.listening import inherited_socket


def test_no_socket_without_the_variables():
    assert inherited_socket({}) is None


def test_a_socket_meant_for_another_process_is_left_alone():
    env = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"}
    assert inherited_socket(env) is None
    assert env == {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"}


def test_the_variables_are_taken_away():
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "0", "LISTEN_FDNAMES": "", "HOME": "/"}
    assert inherited_socket(env) is None
    assert env == {"HOME": "/"}


def test_more_than_one_socket_is_a_configuration_error():
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2"}
    with pytest.raises(ConfigError, match="LISTEN_FDS=2"):
        inherited_socket(env)
