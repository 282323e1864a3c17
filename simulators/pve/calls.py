"""One verified API call as the endpoint handlers see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .access import AccessControl, Caller
from .errors import PveError, permission_denied
from .model import Cluster, Guest, GuestType
from .schema import JsonValue, ParamValue


@dataclass(frozen=True, slots=True)
class ApiCall:
    """An authenticated call whose parameters passed the schema's verification."""

    cluster: Cluster
    access: AccessControl
    caller: Caller | None  # None only for endpoints open to the world (the login)
    params: dict[str, ParamValue]

    @property
    def auth_id(self) -> str:
        """Who calls, as PVE writes it into task UPIDs (`root@pam`, `root@pam!homelab`)."""
        return self.caller.auth_id if self.caller else ""

    def allows(self, path: str, privilege: str) -> bool:
        """Whether the caller holds a privilege on an ACL path."""
        return self.caller is not None and self.caller.allows(path, privilege)

    def require(self, path: str, privilege: str) -> None:
        """Raise PVE's 403 unless the caller holds the privilege on the path."""
        if not self.allows(path, privilege):
            raise permission_denied(path, privilege)

    def text(self, name: str) -> str:
        """A required string parameter (the schema has made sure it is there)."""
        return str(self.params[name])

    def optional_text(self, name: str) -> str | None:
        """A string parameter, if given."""
        value = self.params.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int:
        """A required integer parameter."""
        value = self.params[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} is not an integer parameter")
        return value

    def optional_integer(self, name: str) -> int | None:
        """An integer parameter, if given."""
        return self.integer(name) if name in self.params else None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter, or its default."""
        value = self.params.get(name, default)
        return value if isinstance(value, bool) else default

    def guest(self, guest_type: GuestType) -> Guest:
        """The guest named by the path's node and vmid, or PVE's missing-config error."""
        node = self.text("node")
        vmid = self.integer("vmid")
        guest = self.cluster.guests.get(vmid)
        if guest is None or guest.node != node or guest.guest_type != guest_type:
            config_dir = "qemu-server" if guest_type == "qemu" else "lxc"
            raise PveError(
                500, f"Configuration file 'nodes/{node}/{config_dir}/{vmid}.conf' does not exist"
            )
        return guest


type Handler = Callable[[ApiCall], JsonValue]
"""An endpoint handler: gets the verified call, returns the response's `data`."""
