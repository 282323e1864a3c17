"""Self-signed certificates for the HTTPS simulators, generated at start."""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
import ipaddress
from pathlib import Path
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class SelfSignedCertificate:
    """A certificate and key on disk, with its SHA-256 fingerprint as the Proxmox UIs show it."""

    cert_path: Path
    key_path: Path
    fingerprint_sha256: str

    def server_context(self) -> ssl.SSLContext:
        """Return an SSL context for an aiohttp server using this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def generate_self_signed(common_name: str = "localhost") -> SelfSignedCertificate:
    """Generate a short-lived self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="homelab-sim-tls-"))
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    digest = cert.fingerprint(hashes.SHA256()).hex()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)).upper()
    return SelfSignedCertificate(cert_path, key_path, fingerprint)
