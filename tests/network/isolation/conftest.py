"""The four sources' own fixtures, shared with the tests that run them together."""

from __future__ import annotations

from ..cloudflare.conftest import cloudflare, cloudflare_entry, cloudflare_options
from ..pihole.conftest import pihole, pihole_entry, pihole_options
from ..tailscale.conftest import (
    tailscale_credentials,
    tailscale_entry,
    tailscale_options,
    tailscale_sim,
)
from ..unifi.conftest import certificate_before_frozen_time, unifi, unifi_entry, unifi_options

__all__ = [
    "certificate_before_frozen_time",
    "cloudflare",
    "cloudflare_entry",
    "cloudflare_options",
    "pihole",
    "pihole_entry",
    "pihole_options",
    "tailscale_credentials",
    "tailscale_entry",
    "tailscale_options",
    "tailscale_sim",
    "unifi",
    "unifi_entry",
    "unifi_options",
]
