"""Settings: strict loading, and every setting documented in the example file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from server import config
from server.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "kanyan.example.toml"


def test_example_file_documents_every_setting_with_its_default():
    text = EXAMPLE.read_text()
    parsed = tomllib.loads(text)
    for section, key, default, help_text in config.documented():
        assert help_text, f"{section}.{key} has no help text"
        assert key in parsed.get(section, {}), f"{section}.{key} missing from {EXAMPLE.name}"
        assert parsed[section][key] == default, f"{section}.{key}: example differs from default"
    # and nothing in the example that the code does not know
    config.from_mapping(parsed, str(EXAMPLE))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"serverr": {}}, "unknown section [serverr]"),
        ({"server": {"prot": 1}}, "unknown setting server.prot"),
        ({"server": {"port": "8443"}}, "server.port: expected an integer"),
        ({"server": {"port": True}}, "server.port: expected an integer"),
        ({"demo": {"enabled": "yes"}}, "demo.enabled: expected true or false"),
        ({"ice": {"stun_urls": "stun:x"}}, "ice.stun_urls: expected a list of strings"),
        ({"media": {"forwarding": "magic"}}, "media.forwarding must be"),
        ({"tls": {"cert": "a.pem"}}, "tls.cert and tls.key must be set together"),
        ({"ice": {"turn_urls": ["turn:x"]}}, "ice.turn_urls needs ice.turn_secret"),
        ({"server": []}, "[server] must be a table"),
        ({"watchdog": {"no_staff_s": -1}}, "watchdog.no_staff_s must be 0 or more"),
        ({"watchdog": {"recorder_silent_s": 1}}, "watchdog.recorder_silent_s must be at least 2"),
        ({"watchdog": {"loop_lag_s": 0}}, "watchdog.loop_lag_s must be at least 0.05"),
        ({"watchdog": {"loop_lag_s": "1s"}}, "watchdog.loop_lag_s: expected a number"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(data, fragment):
    with pytest.raises(ConfigError) as err:
        config.from_mapping(data, "kanyan.toml")
    assert fragment in err.value.message
    assert err.value.message.startswith("kanyan.toml")


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\nport = 1")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        config.load(bad)
    with pytest.raises(ConfigError, match="no such configuration file"):
        config.load(tmp_path / "missing.toml")


def test_kanyan_config_environment_variable_picks_the_file(tmp_path, monkeypatch):
    path = tmp_path / "k.toml"
    path.write_text("[server]\nport = 9443\n")
    monkeypatch.setenv("KANYAN_CONFIG", str(path))
    assert config.load().server.port == 9443


@pytest.mark.parametrize(
    ("node", "others", "fragment"),
    [
        ({"id": "node 1"}, {}, "node.id must be letters"),
        ({"id": "node-1"}, {}, "node.id needs archive.url"),
        (
            {"id": "node-1"},
            {"archive": {"url": "postgresql://k@db/k"}},
            "needs security.link_secret and staff.session_secret",
        ),
        (
            {"id": "node-1", "heartbeat_s": 6},
            {
                "archive": {"url": "postgresql://k@db/k"},
                "security": {"link_secret": "s" * 32},
                "staff": {"session_secret": "t" * 32},
            },
            "node.heartbeat_s must be 0.2 s to half of node.lease_s",
        ),
    ],
)
def test_a_node_of_a_province_is_refused_without_what_the_nodes_share(node, others, fragment):
    with pytest.raises(config.ConfigError, match=fragment):
        config.from_mapping({"node": node, **others}, "kanyan.toml")
