"""The PBS API operations the simulator serves: one list for the router and the schema subset."""

from __future__ import annotations

from typing import Final, Literal

type HttpMethod = Literal["GET", "POST", "DELETE"]
type Operation = tuple[HttpMethod, str]

API_PREFIX: Final = "/api2/json"

SERVED_OPERATIONS: Final[tuple[Operation, ...]] = (
    ("GET", "/version"),
    ("POST", "/access/ticket"),
    ("GET", "/access/permissions"),
    ("GET", "/admin/datastore"),
    ("GET", "/status/datastore-usage"),
    ("GET", "/admin/datastore/{store}/status"),
    ("GET", "/admin/datastore/{store}/groups"),
    ("GET", "/admin/datastore/{store}/snapshots"),
    ("DELETE", "/admin/datastore/{store}/snapshots"),
    ("POST", "/admin/datastore/{store}/verify"),
    ("GET", "/admin/datastore/{store}/gc"),
    ("POST", "/admin/datastore/{store}/gc"),
    ("GET", "/nodes/{node}/tasks"),
    ("GET", "/nodes/{node}/tasks/{upid}/status"),
)
