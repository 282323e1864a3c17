"""Who may call the simulated PVE API: users, API tokens, tickets and their privileges."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import secrets
import time
from typing import Final
import uuid

from simulators.acl import AclEntries, acl_path, privileges_at

# The privileges of PVE's built-in Administrator role.
ALL_PRIVILEGES: Final = frozenset(
    {
        "Datastore.Allocate",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Group.Allocate",
        "Mapping.Audit",
        "Mapping.Modify",
        "Mapping.Use",
        "Permissions.Modify",
        "Pool.Allocate",
        "Pool.Audit",
        "Realm.Allocate",
        "Realm.AllocateUser",
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
        "Sys.AccessNetwork",
        "Sys.Audit",
        "Sys.Console",
        "Sys.Incoming",
        "Sys.Modify",
        "Sys.PowerMgmt",
        "Sys.Syslog",
        "User.Modify",
        "VM.Allocate",
        "VM.Audit",
        "VM.Backup",
        "VM.Clone",
        "VM.Config.CDROM",
        "VM.Config.CPU",
        "VM.Config.Cloudinit",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Migrate",
        "VM.PowerMgmt",
        "VM.Replicate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    }
)

type PrivilegeSpec = Iterable[str] | Mapping[str, Iterable[str]] | None
"""Privileges as callers give them: None for everything, a set for `/`, or ACL path -> set."""


@dataclass(frozen=True, slots=True)
class Acl:
    """Privileges per ACL path; the most specific path with an entry decides, as in PVE."""

    entries: AclEntries

    @classmethod
    def from_spec(cls, spec: PrivilegeSpec) -> Acl:
        """Build an ACL from the forms `PrivilegeSpec` allows."""
        if spec is None:
            return cls({"/": ALL_PRIVILEGES})
        if isinstance(spec, Mapping):
            return cls({acl_path(path): frozenset(privs) for path, privs in spec.items()})
        return cls({"/": frozenset(spec)})

    def privileges_at(self, path: str) -> frozenset[str]:
        """The effective privileges on an ACL path such as `/vms/101`."""
        return privileges_at(self.entries, path)

    def allows(self, path: str, privilege: str) -> bool:
        """Whether the privilege is granted on the path."""
        return privilege in self.privileges_at(path)


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token; `header` is the Authorization header value PVE expects."""

    user: str
    token_id: str
    secret: str
    acl: Acl

    @property
    def auth_id(self) -> str:
        """The token's full id as PVE shows it, e.g. `root@pam!homelab`."""
        return f"{self.user}!{self.token_id}"

    @property
    def header(self) -> str:
        """The `Authorization` header value."""
        return f"PVEAPIToken={self.auth_id}={self.secret}"


@dataclass(frozen=True, slots=True)
class User:
    """A user who logs in with a password and gets a ticket."""

    userid: str
    password: str
    acl: Acl


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated identity of one request."""

    auth_id: str
    acl: Acl
    is_token: bool
    csrf_token: str | None = None

    def allows(self, path: str, privilege: str) -> bool:
        """Whether the caller holds the privilege on the ACL path."""
        return self.acl.allows(path, privilege)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A login ticket issued by `POST /access/ticket`."""

    ticket: str
    csrf_token: str
    userid: str


class AuthenticationError(Exception):
    """Credentials were missing or wrong (PVE answers 401 with this message)."""


@dataclass(slots=True)
class AccessControl:
    """Users, tokens and issued tickets of one simulated cluster."""

    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)

    def add_user(self, userid: str, password: str, privileges: PrivilegeSpec = None) -> User:
        """Add (or replace) a user who can log in with a password."""
        user = User(userid, password, Acl.from_spec(privileges))
        self.users[userid] = user
        return user

    def add_token(
        self,
        *,
        user: str = "root@pam",
        token_id: str,
        secret: str | None = None,
        privileges: PrivilegeSpec = None,
    ) -> ApiToken:
        """Add (or replace) an API token; a random UUID secret is made when none is given."""
        token = ApiToken(user, token_id, secret or str(uuid.uuid4()), Acl.from_spec(privileges))
        self.tokens[token.auth_id] = token
        return token

    def login(self, username: str, password: str, realm: str | None = None) -> Ticket:
        """Check a password (or a still valid ticket, as renewals send) and issue a ticket."""
        if "@" not in username and realm:
            username = f"{username}@{realm}"
        user = self.users.get(username)
        renewing = password in self.tickets and self.tickets[password].userid == username
        if user is None or not (secrets.compare_digest(user.password, password) or renewing):
            raise AuthenticationError("authentication failure")
        stamp = f"{int(time.time()):08X}"
        signature = base64.b64encode(secrets.token_bytes(48)).decode()
        ticket = Ticket(
            ticket=f"PVE:{username}:{stamp}::{signature}",
            csrf_token=f"{stamp}:{base64.b64encode(secrets.token_bytes(32)).decode().rstrip('=')}",
            userid=username,
        )
        self.tickets[ticket.ticket] = ticket
        return ticket

    def authenticate(self, authorization: str | None, ticket_cookie: str | None) -> Caller:
        """Identify a request by its API token header or its ticket cookie."""
        if authorization and authorization.startswith("PVEAPIToken="):
            return self._authenticate_token(authorization.removeprefix("PVEAPIToken="))
        if ticket_cookie:
            ticket = self.tickets.get(ticket_cookie)
            user = self.users.get(ticket.userid) if ticket else None
            if ticket is None or user is None:
                raise AuthenticationError("permission denied - invalid PVE ticket")
            return Caller(user.userid, user.acl, is_token=False, csrf_token=ticket.csrf_token)
        raise AuthenticationError("No ticket")

    def _authenticate_token(self, credentials: str) -> Caller:
        auth_id, _, secret = credentials.partition("=")
        userid, _, token_id = auth_id.partition("!")
        token = self.tokens.get(auth_id)
        if token is None:
            raise AuthenticationError(f"no such token '{token_id}' for user '{userid}'")
        if not secrets.compare_digest(token.secret, secret):
            raise AuthenticationError("invalid token value!")
        return Caller(token.auth_id, token.acl, is_token=True)
