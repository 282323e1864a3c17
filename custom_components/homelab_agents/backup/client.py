"""Reaching a Proxmox Backup Server: credentials, and the certificate that identifies it.

PBS answers the same API shape as Proxmox VE, so the Proxmox client serves both (service
"PBS"). A PBS has no cluster name; what identifies one is its certificate's SHA-256 fingerprint,
the value PBS shows under "Show Connection Information" and PVE pins in its `pbs` storages.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT, CONF_USERNAME, CONF_VERIFY_SSL

from ..const import CONF_FINGERPRINT, CONF_TOKEN_ID, CONF_TOKEN_SECRET
from ..proxmox.client import REQUEST_TIMEOUT_SECONDS, ProxmoxCredentials

PBS_NODE = "localhost"  # PBS answers for itself under this node name
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def normalise_fingerprint(text: str) -> str | None:
    """`AA:BB:...` (PBS's spelling) from any case and separator; None when not a SHA-256."""
    digits = re.sub(r"[\s:]", "", text).lower()
    if not _FINGERPRINT.fullmatch(digits):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()


def server_identity(fingerprint: str) -> str:
    """The entry's unique id: the certificate fingerprint, never the host string."""
    return "pbs:" + fingerprint.replace(":", "").lower()


def certificate_fingerprint(host: str, port: int) -> str:
    """The SHA-256 fingerprint of the certificate the server presents (blocking; OSError)."""
    pem = ssl.get_server_certificate((host, port), timeout=REQUEST_TIMEOUT_SECONDS)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    return str(normalise_fingerprint(digest))


def pbs_credentials_from(data: dict[str, Any]) -> ProxmoxCredentials:
    """Connection settings of a PBS entry (or flow input): always an API token."""
    return ProxmoxCredentials(
        host=data[CONF_HOST],
        port=int(data[CONF_PORT]),
        username=data[CONF_USERNAME],
        verify_ssl=data[CONF_VERIFY_SSL],
        token_id=data[CONF_TOKEN_ID],
        token_secret=data[CONF_TOKEN_SECRET],
        service="PBS",
        fingerprint=data.get(CONF_FINGERPRINT) or None,
    )
