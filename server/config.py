"""Settings: one typed object with defaults and help, loaded from a strict TOML file.

`KANYAN_CONFIG` names the file; without it `config/kanyan.toml` is read when present, else the
defaults apply. Unknown sections or keys are an error that names them, so a typo never silently
falls back to a default. `config/kanyan.example.toml` documents every setting and a test keeps it
in step with this module.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from .errors import ConfigError


def setting(default: Any, help: str) -> Any:
    """A dataclass field that carries its help text."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class ServerSettings:
    host: str = setting("0.0.0.0", "Address to listen on.")
    port: int = setting(8443, "HTTPS port. 0 picks a free port (tests); the port is printed.")
    public_url: str = setting(
        "",
        "Base URL printed in links, e.g. https://kanyan.example.gov.cn. Empty: "
        "https://<first LAN address>:<port>.",
    )
    data_dir: str = setting("data", "Directory for the archive database, keys and certificates.")
    recordings_dir: str = setting("recordings", "Directory for recordings and screenshots.")
    allowed_origins: list[str] = setting(
        [],
        "Extra origins allowed to open the WebSocket (the server's own origin always is).",
    )


@dataclass
class TlsSettings:
    cert: str = setting("", "PEM certificate chain. Empty: a self-signed one in data_dir/tls.")
    key: str = setting("", "PEM private key for `cert`.")


@dataclass
class SecuritySettings:
    link_secret: str = setting(
        "",
        "Secret that signs personal links (HMAC-SHA256). Empty: generated once into "
        "data_dir/link-secret (mode 0600).",
    )
    link_lead_minutes: int = setting(
        30, "A room link opens this many minutes before the scheduled time."
    )
    link_lifetime_hours: int = setting(
        24, "A room link expires this long after the scheduled time, or when its session ends."
    )


@dataclass
class IceSettings:
    stun_urls: list[str] = setting(
        [], "STUN servers for browsers and the server, e.g. stun:turn.example:3478."
    )
    turn_urls: list[str] = setting(
        [], "TURN servers offered to browsers, e.g. turn:turn.example:3478?transport=udp."
    )
    turn_secret: str = setting(
        "", "coturn `static-auth-secret` for time-limited credentials (use-auth-secret)."
    )
    turn_ttl_s: int = setting(86400, "Lifetime of a TURN credential in seconds.")
    host_addresses: list[str] = setting(
        [],
        "Addresses the server offers as ICE host candidates. Empty: every interface but "
        'loopback. ["127.0.0.1"] for a loopback-only machine (tests).',
    )
    peer_networks: list[str] = setting(
        ["public", "own"],
        "Addresses a participant's ICE candidates may name, which the server will send "
        'connectivity checks to: "public" (globally routable addresses), "own" (the networks '
        "of the server's own host addresses: a LAN deployment, or coturn beside the server) "
        'and networks such as "10.20.0.0/16". Loopback, link-local, private, multicast and '
        "unspecified addresses are refused unless listed, so that a participant cannot aim "
        "the server at internal services.",
    )


@dataclass
class MediaSettings:
    forwarding: str = setting(
        "encoded",
        "encoded: forward publishers' VP8/Opus RTP packets untouched, renumbered per subscriber "
        "(the product). reencode: aiortc MediaRelay, one encode per subscriber, kept only as "
        "bench/forwarding.py's reference.",
    )
    staff_video_kbps: int = setting(600, "Bitrate cap for staff and observer cameras.")
    applicant_video_kbps: int = setting(1500, "Bitrate cap for the applicant's site camera.")
    keyframe_interval_ms: int = setting(
        500,
        "How long a keyframe request to a publisher may go unanswered before it is repeated; "
        "a subscriber's picture-loss report waits half of it after the last keyframe.",
    )
    reconnect_grace_s: int = setting(
        30, "How long a dropped participant's tiles stay before the others' media is renegotiated."
    )
    stall_after_s: int = setting(
        20,
        "Tell the host when a seated participant's camera has sent the server no frame for "
        "this many seconds (a phone whose uplink died while its WebSocket still answers).",
    )


@dataclass
class SignallingSettings:
    max_message_bytes: int = setting(65536, "Largest WebSocket message accepted.")
    ping_after_s: int = setting(20, "Send a ping after this many seconds of silence.")
    drop_after_s: int = setting(45, "Close a connection silent for this many seconds.")
    hello_timeout_s: int = setting(10, "Time a new connection has to send its hello.")
    answer_timeout_s: int = setting(15, "Time a browser has to answer an offer.")


@dataclass
class UploadSettings:
    max_bytes: int = setting(
        2 * 1024**3, "Largest self-recorded video an applicant may upload (bytes; 2 GiB)."
    )
    quota_bytes: int = setting(
        8 * 1024**3,
        "All the video one case's applicant may upload, every attempt together (bytes).",
    )
    max_attempts: int = setting(20, "Upload attempts one case's applicant may start.")
    stale_hours: int = setting(
        24, "An upload not finished this long after it started is removed (its bytes deleted)."
    )
    submission_days: int = setting(
        7, "The default time an applicant has to submit a self-recorded video (days)."
    )
    chunk_bytes: int = setting(
        2 * 1024**2,
        "Bytes the applicant's browser sends per request (2 MiB): what a dropped connection "
        "costs at most. Keep it under any request-size limit of a proxy in front of Kanyan.",
    )


@dataclass
class NoticeSettings:
    reminder_minutes: int = setting(
        60, "Remind each person this many minutes before a live inspection (0: no reminders)."
    )
    deadline_reminder_days: int = setting(
        2, "Remind the applicant this many days before a rectification deadline (0: never)."
    )
    retry_first_s: int = setting(10, "Wait before the first retry of a message that failed.")
    retry_max_s: int = setting(1800, "The longest wait between retries (the backoff's cap).")
    give_up_hours: int = setting(
        48, "A message not delivered this long after it was due is marked failed."
    )
    webhook_timeout_s: int = setting(15, "How long a webhook receiver has to answer.")


@dataclass
class MailSettings:
    host: str = setting("", "SMTP server for invitations and notices. Empty: no e-mail.")
    port: int = setting(587, "SMTP port (587 with STARTTLS, 465 with TLS, 25 plain).")
    security: str = setting("starttls", "starttls, tls or none.")
    username: str = setting("", "SMTP login, if the server asks for one.")
    password: str = setting("", "SMTP password.")
    sender: str = setting(
        "kanyan@localhost", "The From address, e.g. 勘验 <kanyan@example.gov.cn>."
    )
    timeout_s: int = setting(20, "How long the SMTP server has to answer.")


@dataclass
class SmsSettings:
    url: str = setting(
        "",
        "The bureau's SMS gateway (HTTP POST). Empty: no SMS. docs/notices.md has examples.",
    )
    headers: list[str] = setting(
        [], 'Headers sent to the gateway, e.g. ["Authorization: Bearer …"].'
    )
    content_type: str = setting("application/json", "The body's Content-Type.")
    body: str = setting(
        '{"phone": "{phone}", "text": "{text}"}',
        "The body: {phone} and {text} are filled in (JSON-escaped for a JSON body).",
    )
    success_status: int = setting(200, "The HTTP status of an accepted message.")
    success_contains: str = setting(
        "", "Text the gateway's answer must contain to count as accepted (empty: any)."
    )
    timeout_s: int = setting(15, "How long the gateway has to answer.")


@dataclass
class ArchiveSettings:
    url: str = setting(
        "",
        "The archive database. Empty: SQLite, kanyan.sqlite3 in the data folder. For several "
        "nodes: postgresql://user:password@host:5432/kanyan (docs/deploy.md).",
    )
    verify_files_hours: int = setting(
        24,
        "Re-hash every archived file this often (hours); the dashboard shows the last result. "
        "0: only when `python -m server verify-files` is run.",
    )


@dataclass
class StorageSettings:
    kind: str = setting(
        "local",
        "Where archived files are kept: local (the recordings folder) or s3 (an S3-compatible "
        "object store; files are written locally first and offloaded once their stored copy "
        "verifies).",
    )
    endpoint: str = setting("", "The object store's URL, e.g. https://s3.example.gov.cn.")
    bucket: str = setting("kanyan-evidence", "The bucket (created on first use if missing).")
    region: str = setting("", "The region, if the store asks for one.")
    access_key: str = setting("", "The access key.")
    secret_key: str = setting("", "The secret key.")
    prefix: str = setting("", "A key prefix inside the bucket, e.g. the bureau's code.")
    timeout_s: int = setting(30, "How long the store has to answer one request.")
    offload_interval_s: int = setting(
        60, "How often archived files waiting in the recordings folder are offloaded."
    )
    keep_local: bool = setting(
        False, "Keep the local copy of a file after its stored copy verified."
    )


@dataclass
class NodeSettings:
    id: str = setting(
        "",
        "This process's name among a province's media nodes (e.g. node-1). Empty: one server "
        "alone. Set on every node, with archive.url on the shared PostgreSQL: rooms are then "
        "placed on the least loaded node, and links opened on any node are sent there.",
    )
    public_url: str = setting(
        "",
        "The address people's browsers reach this node at, e.g. https://kanyan-2.example.gov.cn "
        "(empty: server.public_url, or this process's own address).",
    )
    heartbeat_s: float = setting(2.0, "How often this node says it is alive and renews its rooms.")
    lease_s: float = setting(
        10.0,
        "How long a room stays with a node that stopped heart-beating before another node takes "
        "it over (several heartbeats: a busy moment is not a death).",
    )


@dataclass
class MetricsSettings:
    enabled: bool = setting(True, "Serve /metrics (Prometheus text format) to the addresses below.")
    allowed_addresses: list[str] = setting(
        ["127.0.0.1", "::1"],
        "Client addresses or networks (CIDR) that may read /metrics without a token. A request "
        "that came through a proxy (Forwarded or X-Forwarded-For header) always needs the token.",
    )
    token: str = setting(
        "",
        "Bearer token that lets any address read /metrics (Authorization: Bearer <token>), at "
        "least 16 characters. Empty: only allowed_addresses.",
    )


@dataclass
class RecordingSettings:
    preset: str = setting(
        "ultrafast",
        "x264 preset of the composite (ultrafast … medium). Faster presets cost less CPU and make "
        "larger files; README.md has the measured trade-off (bench/recorder.py).",
    )
    crf: int = setting(
        26, "x264 constant rate factor of the composite: lower is better quality, larger files."
    )
    audio_kbps: int = setting(64, "AAC bitrate of the composite's mixed sound (mono).")
    raw_tracks: bool = setting(
        True,
        "Also keep every participant's received VP8 and Opus in WebM, without re-encoding: "
        "source-quality evidence at almost no CPU cost.",
    )
    latency_ms: int = setting(
        500,
        "How far the composite runs behind the live room, so that late frames still fit in. A "
        "crash loses at most this plus one second.",
    )
    font: str = setting(
        "",
        "CJK font for the burned-in text. Empty: the first Debian CJK font found "
        "(fonts-wqy-microhei, fonts-noto-cjk, …).",
    )
    screenshot_quality: int = setting(92, "JPEG quality of screenshots (90–100).")
    max_backlog_mb: int = setting(
        64, "Frames a stalled recorder may have queued before new ones are dropped (and logged)."
    )


@dataclass
class WatchdogSettings:
    no_staff_s: int = setting(
        600,
        "A live session with nobody of the staff (host, clerk, expert) in the room for this "
        "many seconds is interrupted (中止), as the host would; the same links start a new "
        "session. 0: never.",
    )
    recorder_silent_s: int = setting(
        20,
        "A recorder process reports every second; one silent this long is stuck: it is "
        "killed, the host is told and recording goes on in a new segment.",
    )
    loop_lag_s: float = setting(
        1.0, "An event-loop turn longer than this is logged with the stack of the loop's thread."
    )


@dataclass
class DemoSettings:
    enabled: bool = setting(True, "Create a demo case and inspection on start and print its links.")


@dataclass
class StaffSettings:
    session_secret: str = setting(
        "",
        "Secret that signs staff session cookies and form tokens. Empty: generated once into "
        "data_dir/session-secret (mode 0600).",
    )
    session_hours: int = setting(12, "A staff login lasts this many hours.")
    login_max_failures: int = setting(
        10, "Failed logins allowed per account within the window before logins wait."
    )
    login_max_failures_per_address: int = setting(
        30, "Failed logins allowed per client address within the window."
    )
    login_window_minutes: int = setting(15, "The window over which failed logins are counted.")
    inspectors_by_section: bool = setting(
        False,
        "Inspectors, like approval clerks, see and act on the cases of their own sections "
        "(业务股室, set on each account) only. Off: inspectors work on every section's cases.",
    )


@dataclass
class CasesSettings:
    catalog: str = setting(
        "",
        "The licence-item catalog (TOML, [[item]] tables). Empty: config/catalog.toml shipped "
        "with Kanyan.",
    )
    deadline_check_s: int = setting(
        300,
        "How often rectification deadlines are checked: a case still rectifying after its "
        "deadline day (Beijing time) becomes overdue.",
    )


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    ice: IceSettings = field(default_factory=IceSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    signalling: SignallingSettings = field(default_factory=SignallingSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    staff: StaffSettings = field(default_factory=StaffSettings)
    cases: CasesSettings = field(default_factory=CasesSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    uploads: UploadSettings = field(default_factory=UploadSettings)
    notices: NoticeSettings = field(default_factory=NoticeSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    node: NodeSettings = field(default_factory=NodeSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)
    # Where relative paths are resolved from: the directory `make run` starts in.
    base_dir: Path = field(default_factory=Path.cwd, metadata={"internal": True})

    @property
    def data_dir(self) -> Path:
        return self.base_dir / self.server.data_dir

    @property
    def archive_location(self) -> Path | str:
        """Where the archive is: the PostgreSQL URL, or the SQLite file in the data folder."""
        return self.archive.url or self.data_dir / "kanyan.sqlite3"

    @property
    def archive_label(self) -> str:
        """The archive's location as messages may show it: never a password."""
        location = self.archive_location
        if isinstance(location, Path):
            return str(location)
        parts = urlsplit(location)
        host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        return f"{parts.scheme}://{host}{parts.path}"

    @property
    def recordings_dir(self) -> Path:
        return self.base_dir / self.server.recordings_dir

    def path(self, value: str) -> Path:
        return self.base_dir / value


def sections() -> dict[str, type]:
    """Section name → settings dataclass, in file order."""
    hints = get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings) if not f.metadata.get("internal")}


def _check_type(where: str, value: Any, expected: Any) -> Any:
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
    elif expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
    elif expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        value = float(value)
    elif expected is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
    elif expected == list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    else:  # pragma: no cover - a new setting type needs a rule here
        raise ConfigError(f"{where}: unsupported setting type {expected}")
    return value


def from_mapping(
    data: dict[str, Any], source: str = "<settings>", base_dir: Path | None = None
) -> Settings:
    """Build Settings from parsed TOML, rejecting unknown sections and keys by name."""
    known = sections()
    kwargs: dict[str, Any] = {}
    for name, values in data.items():
        if name not in known:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(known)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        cls = known[name]
        hints = get_type_hints(cls)
        names = {f.name for f in fields(cls)}
        section_kwargs = {}
        for key, value in values.items():
            if key not in names:
                raise ConfigError(
                    f"{source}: unknown setting {name}.{key} (known: {', '.join(sorted(names))})"
                )
            section_kwargs[key] = _check_type(f"{source}: {name}.{key}", value, hints[key])
        kwargs[name] = cls(**section_kwargs)
    settings = Settings(**kwargs)
    if base_dir is not None:
        settings.base_dir = base_dir
    from .config_checks import validate  # the checks import this module's types

    validate(settings, source)
    return settings


def load(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load settings from `path`, $KANYAN_CONFIG, or config/kanyan.toml, in that order."""
    if path is None:
        path = os.environ.get("KANYAN_CONFIG") or None
    if path is None:
        default = Path("config/kanyan.toml")
        if not default.exists():
            return Settings()
        path = default
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # e.g. saved as GBK by a Windows editor
        raise ConfigError(
            f"{path}: 不是 UTF-8 文本，请另存为 UTF-8 / not UTF-8 text (byte {exc.start}): "
            "save it as UTF-8"
        ) from None
    # Relative paths in a config file are relative to the directory Kanyan starts in, like
    # the defaults, so `data` means the same thing with and without a file.
    return from_mapping(data, str(path), base_dir=Path.cwd())


def documented() -> list[tuple[str, str, Any, str]]:
    """(section, key, default, help) for every setting: the source of the example file."""
    rows = []
    for name, cls in sections().items():
        for f in fields(cls):
            factory = f.default_factory
            default = factory() if callable(factory) else f.default
            rows.append((name, f.name, default, f.metadata["help"]))
    return rows


def load_or_create_secret(configured: str, path: Path) -> bytes:
    """The configured secret, or one generated once and kept (0600) in the data directory."""
    if configured:
        return configured.encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32).encode()
    # O_EXCL: two servers starting at once must not end up with different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    return value
