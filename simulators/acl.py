"""ACL lookups as both Proxmox products make them: the most specific path with an entry decides."""

from __future__ import annotations

from collections.abc import Mapping

type AclEntries = Mapping[str, frozenset[str]]
"""ACL path (`/`, `/vms/101`, `/datastore/store1`) to the privileges granted there."""


def acl_path(path: str) -> str:
    """An ACL path in the form entries are kept in: one leading slash, none trailing."""
    return "/" + path.strip("/")


def privileges_at(entries: AclEntries, path: str) -> frozenset[str]:
    """The privileges on `path`: those of its longest prefix with an entry, else none.

    A more specific entry replaces what a shorter one grants (it does not add to it), so
    `{"/": ALL, "/vms/101": {"VM.Audit"}}` leaves only VM.Audit on `/vms/101`.
    """
    parts = [part for part in path.split("/") if part]
    for depth in range(len(parts), -1, -1):
        prefix = "/" + "/".join(parts[:depth])
        if prefix in entries:
            return entries[prefix]
    return frozenset()
