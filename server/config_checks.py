"""What a loaded settings file must satisfy beyond its types: ranges, combinations, and what a
province's nodes must share. `server.config.from_mapping` runs `validate`; each failure is a
ConfigError that names the setting."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .config import MetricsSettings, RecordingSettings, Settings
from .errors import ConfigError


def validate(settings: Settings, source: str) -> None:
    if settings.media.forwarding not in ("encoded", "reencode"):
        raise ConfigError(f"{source}: media.forwarding must be 'encoded' or 'reencode'")
    if bool(settings.tls.cert) != bool(settings.tls.key):
        raise ConfigError(f"{source}: tls.cert and tls.key must be set together")
    if settings.archive.url and not settings.archive.url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise ConfigError(f"{source}: archive.url must be a postgresql:// URL (or empty: SQLite)")
    if settings.ice.turn_urls and not settings.ice.turn_secret:
        raise ConfigError(f"{source}: ice.turn_urls needs ice.turn_secret")
    for entry in settings.ice.peer_networks:
        if entry not in ("public", "own"):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"{source}: ice.peer_networks: {entry!r} is not public, own or a network "
                    "such as 10.0.0.0/8"
                ) from None
    if not 0 <= settings.server.port <= 65535:
        raise ConfigError(f"{source}: server.port must be 0–65535")
    for key in ("session_hours", "login_max_failures", "login_max_failures_per_address"):
        if getattr(settings.staff, key) < 1:
            raise ConfigError(f"{source}: staff.{key} must be at least 1")
    if settings.staff.login_window_minutes < 1:
        raise ConfigError(f"{source}: staff.login_window_minutes must be at least 1")
    if settings.mail.security not in ("starttls", "tls", "none"):
        raise ConfigError(f"{source}: mail.security must be starttls, tls or none")
    notices = settings.notices
    if not 1 <= notices.retry_first_s <= notices.retry_max_s:
        raise ConfigError(f"{source}: notices.retry_first_s must be 1–notices.retry_max_s")
    if notices.give_up_hours < 1 or notices.webhook_timeout_s < 1:
        raise ConfigError(f"{source}: notices.give_up_hours and webhook_timeout_s must be ≥ 1")
    for header in settings.sms.headers:
        if ":" not in header:
            raise ConfigError(f"{source}: sms.headers: {header!r} is not 'Name: value'")
    uploads = settings.uploads
    storage = settings.storage
    if storage.kind not in ("local", "s3"):
        raise ConfigError(f"{source}: storage.kind must be local or s3")
    if storage.kind == "s3" and not (storage.bucket and storage.endpoint):
        raise ConfigError(f"{source}: storage.kind = s3 needs storage.endpoint and bucket")
    if not 1024**2 <= uploads.max_bytes <= uploads.quota_bytes:
        raise ConfigError(f"{source}: uploads.max_bytes must be 1 MiB–uploads.quota_bytes")
    for key in ("max_attempts", "stale_hours", "submission_days"):
        if getattr(uploads, key) < 1:
            raise ConfigError(f"{source}: uploads.{key} must be at least 1")
    if not 16 * 1024 <= uploads.chunk_bytes <= 256 * 1024**2:
        raise ConfigError(f"{source}: uploads.chunk_bytes must be 16 KiB–256 MiB")
    if settings.archive.verify_files_hours < 0:
        raise ConfigError(f"{source}: archive.verify_files_hours must be 0 or more")
    if settings.cases.deadline_check_s < 10:
        raise ConfigError(f"{source}: cases.deadline_check_s must be at least 10")
    validate_recording(settings.recording, source)
    watchdog = settings.watchdog
    if watchdog.no_staff_s < 0:
        raise ConfigError(f"{source}: watchdog.no_staff_s must be 0 or more")
    if watchdog.recorder_silent_s < 2:
        raise ConfigError(f"{source}: watchdog.recorder_silent_s must be at least 2")
    if watchdog.loop_lag_s < 0.05:
        raise ConfigError(f"{source}: watchdog.loop_lag_s must be at least 0.05")
    validate_metrics(settings.metrics, source)
    validate_node(settings, source)


def validate_node(settings: Settings, source: str) -> None:
    node = settings.node
    if not node.id:
        return
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", node.id):
        raise ConfigError(f"{source}: node.id must be letters, digits, . _ - (at most 63)")
    if not settings.archive.url:
        raise ConfigError(
            f"{source}: node.id needs archive.url: the nodes of a province share the archive "
            "on PostgreSQL"
        )
    if not (settings.security.link_secret and settings.staff.session_secret):
        raise ConfigError(
            f"{source}: node.id needs security.link_secret and staff.session_secret, the same "
            "on every node: a link or a staff login made by one node must hold on the others"
        )
    if node.public_url and urlsplit(node.public_url).scheme not in ("https", "http"):
        raise ConfigError(f"{source}: node.public_url must start with https://")
    if not 0.2 <= node.heartbeat_s <= node.lease_s / 2:
        raise ConfigError(f"{source}: node.heartbeat_s must be 0.2 s to half of node.lease_s")


X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


def validate_recording(recording: RecordingSettings, source: str) -> None:
    if recording.preset not in X264_PRESETS:
        raise ConfigError(f"{source}: recording.preset must be one of {', '.join(X264_PRESETS)}")
    if not 0 <= recording.crf <= 51:
        raise ConfigError(f"{source}: recording.crf must be 0–51")
    if not 32 <= recording.audio_kbps <= 320:
        raise ConfigError(f"{source}: recording.audio_kbps must be 32–320")
    if not 90 <= recording.screenshot_quality <= 100:
        raise ConfigError(f"{source}: recording.screenshot_quality must be 90–100")
    if not 300 <= recording.latency_ms <= 1000:
        raise ConfigError(f"{source}: recording.latency_ms must be 300–1000")
    if recording.max_backlog_mb < 1:
        raise ConfigError(f"{source}: recording.max_backlog_mb must be at least 1")


def validate_metrics(metrics: MetricsSettings, source: str) -> None:
    for address in metrics.allowed_addresses:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise ConfigError(
                f"{source}: metrics.allowed_addresses: {address!r} is not an address or network"
            ) from None
    if metrics.token and len(metrics.token) < 16:
        raise ConfigError(f"{source}: metrics.token must be at least 16 characters")
