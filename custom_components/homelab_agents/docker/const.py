"""Entry data and options of a Docker host."""

from __future__ import annotations

from typing import Final

CONF_CA_CERT: Final = "ca_cert"
CONF_CLIENT_CERT: Final = "client_cert"
CONF_CLIENT_KEY: Final = "client_key"
CONF_ENGINE_ID: Final = "engine_id"
CONF_STATS_INTERVAL: Final = "stats_interval"
CONF_STOP_TIMEOUT: Final = "stop_timeout"

# Stats cost one request per running container: every 5 minutes by default, 0 turns them off.
DEFAULT_STATS_INTERVAL: Final = 300  # seconds
MIN_STATS_INTERVAL: Final = 30  # the poll interval: stats at every poll
DEFAULT_STOP_TIMEOUT: Final = 10  # seconds before the engine kills a stopping container
DOCKER_MANUFACTURER: Final = "Docker"
