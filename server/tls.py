"""TLS: phones only open the camera on HTTPS pages, so Kanyan always serves TLS.

Without a configured certificate, a self-signed one is made on first start (kept in
data_dir/tls) for localhost and this machine's addresses; people accept it once in the browser.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ifaddr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .archive.files import make_dir
from .config import Settings
from .errors import ConfigError


def local_addresses() -> list[str]:
    """IPv4 addresses of this machine, LAN ones first, loopback last."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                found.append(ip.ip)
    return sorted(set(found), key=lambda a: (a.startswith("127."), a))


def make_self_signed(cert_path: Path, key_path: Path, hosts: list[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Kanyan self-signed"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kanyan"),
        ]
    )
    alt_names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    make_dir(cert_path.parent)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    fd = os.open(cert_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def ssl_context(settings: Settings) -> ssl.SSLContext:
    if settings.tls.cert:
        cert, key = settings.path(settings.tls.cert), settings.path(settings.tls.key)
    else:
        cert = settings.data_dir / "tls" / "cert.pem"
        key = settings.data_dir / "tls" / "key.pem"
        if not cert.exists() or not key.exists():
            hosts = ["localhost", socket.gethostname(), *local_addresses()]
            make_self_signed(cert, key, hosts)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"TLS certificate {cert} / key {key} cannot be loaded: {exc}") from None
    return context
