"""Who may call the simulated PBS: users, API tokens, tickets and ACL privileges."""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
import hashlib
import hmac
import secrets
from typing import Final

from simulators.acl import AclEntries, acl_path, privileges_at

PRIVILEGES: Final = frozenset(
    {
        "Sys.Audit",
        "Sys.Modify",
        "Sys.PowerManagement",
        "Sys.Console",
        "Datastore.Audit",
        "Datastore.Modify",
        "Datastore.Read",
        "Datastore.Verify",
        "Datastore.Backup",
        "Datastore.Prune",
        "Permissions.Modify",
        "Remote.Audit",
        "Remote.Modify",
        "Remote.Read",
        "Tape.Audit",
        "Tape.Modify",
        "Tape.Read",
        "Tape.Write",
        "Realm.Allocate",
    }
)
"""Every PBS privilege; the Admin role holds them all."""

ADMIN: Final = PRIVILEGES
AUDIT: Final = frozenset({"Sys.Audit", "Datastore.Audit", "Remote.Audit", "Tape.Audit"})
"""The Audit role: read everything, change nothing (no Datastore.Verify, no Modify)."""
DATASTORE_AUDIT: Final = frozenset({"Datastore.Audit"})

TICKET_LIFETIME: Final = 7200  # seconds, as PBS: proxmoxer renews after an hour

type Acl = AclEntries
"""ACL path (`/`, `/datastore/store1`, `/system/tasks`) to the privileges granted there."""

# The paths PBS always reports in /access/permissions, besides the caller's own ACL paths.
_DEFAULT_PERMISSION_PATHS: Final = ("/", "/access", "/datastore", "/remote", "/system", "/tape")


def acl_from(grants: Mapping[str, Collection[str]]) -> Acl:
    """An ACL from a mapping of path to privilege names, rejecting unknown privileges."""
    acl: dict[str, frozenset[str]] = {}
    for path, privileges in grants.items():
        unknown = set(privileges) - PRIVILEGES
        if unknown:
            raise ValueError(f"unknown PBS privileges: {sorted(unknown)}")
        acl[acl_path(path)] = frozenset(privileges)
    return acl


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as a client configures it."""

    user: str
    token_name: str
    secret: str
    acl: Acl = field(compare=False)

    @property
    def auth_id(self) -> str:
        """`user@realm!token`, the owner of tasks the token starts."""
        return f"{self.user}!{self.token_name}"

    @property
    def header(self) -> str:
        """The `Authorization` header value (PBS separates id and secret with a colon)."""
        return f"PBSAPIToken={self.auth_id}:{self.secret}"


@dataclass(frozen=True, slots=True)
class User:
    """A user who logs in with a password (ticket authentication)."""

    userid: str
    password: str
    acl: Acl = field(compare=False)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated identity behind one request."""

    auth_id: str
    acl: Acl

    @property
    def userid(self) -> str:
        """The user part of the auth id (a token's owner)."""
        return self.auth_id.split("!", 1)[0]

    def privileges(self, path: str) -> frozenset[str]:
        """This caller's privileges on an ACL path."""
        return privileges_at(self.acl, path)

    def has_any(self, path: str, privileges: Collection[str]) -> bool:
        """Whether the caller holds at least one of `privileges` on `path`."""
        return not self.privileges(path).isdisjoint(privileges)

    def owns(self, owner: str) -> bool:
        """Whether a task or backup group owned by `owner` is this caller's (PBS rule).

        Owners are the caller itself, or one of the caller's tokens.
        """
        return self.auth_id in (owner, owner.split("!", 1)[0])


class AuthenticationError(Exception):
    """Credentials missing or wrong: PBS answers 401 `authentication failed - <reason>`."""


class Access:
    """The simulator's users, tokens and tickets."""

    def __init__(self) -> None:
        """Start with no users and no tokens."""
        self._users: dict[str, User] = {}
        self._tokens: dict[str, ApiToken] = {}
        self._key = secrets.token_bytes(32)

    def add_user(self, userid: str, password: str, acl: Acl) -> User:
        """Create or replace a password user."""
        user = User(userid, password, acl)
        self._users[userid] = user
        return user

    def add_token(self, user: str, token_name: str, secret: str, acl: Acl) -> ApiToken:
        """Create or replace an API token."""
        token = ApiToken(user, token_name, secret, acl)
        self._tokens[token.auth_id] = token
        return token

    def acl_of(self, auth_id: str) -> Acl:
        """The ACL of a user or token (empty when unknown)."""
        if token := self._tokens.get(auth_id):
            return token.acl
        if user := self._users.get(auth_id):
            return user.acl
        return {}

    def login(self, userid: str, password: str, now: float) -> tuple[str, str]:
        """Check a password, or a valid ticket (renewal), and return (ticket, CSRF token)."""
        user = self._users.get(userid)
        if user is None or not (
            hmac.compare_digest(user.password, password) or self._renews(userid, password, now)
        ):
            raise AuthenticationError("permission check failed.")
        timestamp = f"{int(now):08X}"
        payload = f"PBS:{userid}:{timestamp}"
        ticket = f"{payload}::{self._sign(payload)}"
        return ticket, self._csrf_token(userid, timestamp)

    def authenticate(
        self,
        authorization: str | None,
        cookie: str | None,
        csrf_token: str | None,
        method: str,
        now: float,
    ) -> Caller:
        """Identify the caller from a token header or a ticket cookie (with CSRF on writes)."""
        if authorization and authorization.startswith("PBSAPIToken="):
            return self._token_caller(authorization.removeprefix("PBSAPIToken="))
        if cookie:
            userid, timestamp = self._ticket_user(cookie, now)
            if method != "GET":
                if not csrf_token:
                    raise AuthenticationError("missing CSRF prevention token")
                expected = self._csrf_token(userid, timestamp)
                if not hmac.compare_digest(csrf_token, expected):
                    raise AuthenticationError("invalid CSRF prevention token")
            return Caller(userid, self._users[userid].acl)
        raise AuthenticationError("no authentication credentials provided.")

    def permissions(
        self, caller_acl: Acl, datastores: Collection[str], path: str | None
    ) -> dict[str, dict[str, bool]]:
        """The /access/permissions map: path to privilege to propagate flag."""
        paths = (
            {path}
            if path
            else {*_DEFAULT_PERMISSION_PATHS, *caller_acl, *(f"/datastore/{d}" for d in datastores)}
        )
        # Every grant in this simulator propagates, so the flag is always true.
        return {
            acl_path: dict.fromkeys(sorted(granted), True)
            for acl_path in sorted(paths)
            if (granted := privileges_at(caller_acl, acl_path))
        }

    def _renews(self, userid: str, ticket: str, now: float) -> bool:
        """Whether `ticket` is a valid ticket of `userid` (clients renew tickets this way)."""
        try:
            return self._ticket_user(ticket, now)[0] == userid
        except AuthenticationError:
            return False

    def _token_caller(self, credentials: str) -> Caller:
        auth_id, separator, secret = credentials.partition(":")
        if not separator:
            raise AuthenticationError("failed to split API token header")
        token = self._tokens.get(auth_id)
        if token is None:
            raise AuthenticationError("user account or token disabled or expired.")
        if not hmac.compare_digest(token.secret, secret):
            raise AuthenticationError("invalid credentials")
        return Caller(auth_id, token.acl)

    def _ticket_user(self, ticket: str, now: float) -> tuple[str, str]:
        payload, separator, signature = ticket.rpartition("::")
        parts = payload.split(":")
        if not separator or len(parts) != 3 or parts[0] != "PBS":
            raise AuthenticationError("invalid ticket")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise AuthenticationError("ticket signature mismatch")
        _, userid, timestamp = parts
        if now - int(timestamp, 16) > TICKET_LIFETIME:
            raise AuthenticationError("ticket expired")
        if userid not in self._users:
            raise AuthenticationError("user account disabled or expired.")
        return userid, timestamp

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def _csrf_token(self, userid: str, timestamp: str) -> str:
        return f"{timestamp}:{self._sign(f'{timestamp}:{userid}')}"
