"""Handlers for storages: the node's storage list, status, content, and vzdump backups."""

from __future__ import annotations

import re
import shlex
from typing import Final

from .archives import ContentEntry, snapshot_content_entry
from .backups import BackupJob, backup_storage, start_vzdump
from .calls import ApiCall, Handler
from .errors import parameter_error, server_error
from .model import Cluster, Storage
from .schema import JsonValue

type StorageEntry = dict[str, str | int | float | dict[str, str | list[str]]]

_FORMATS: Final[dict[str, tuple[str, list[str]]]] = {
    "dir": ("qcow2", ["raw", "qcow2", "vmdk", "subvol"]),
    "nfs": ("qcow2", ["raw", "qcow2", "vmdk"]),
    "lvmthin": ("raw", ["raw"]),
}
# A stock `local` storage holds a container template and an installer ISO.
_LOCAL_FILES: Final[tuple[tuple[str, str, str, int], ...]] = (
    ("vztmpl", "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst", "tzst", 130 * 1024**2),
    ("iso", "local:iso/debian-13.1.0-amd64-netinst.iso", "iso", 754 * 1024**2),
)


def _audits(call: ApiCall, storage_id: str) -> bool:
    path = f"/storage/{storage_id}"
    return call.allows(path, "Datastore.Audit") or call.allows(path, "Datastore.AllocateSpace")


def _storage(call: ApiCall) -> Storage:
    storage_id = call.text("storage")
    storage = call.cluster.storages.get(storage_id)
    if storage is None:
        raise server_error(f"storage '{storage_id}' does not exist")
    return storage


def _status(cluster: Cluster, storage: Storage, node: str) -> StorageEntry:
    used = min(storage.total, cluster.storage_used(storage, node))
    return {
        "type": storage.storage_type,
        "content": storage.content,
        "shared": int(storage.shared),
        "active": 1,
        "enabled": 1,
        "total": storage.total,
        "used": used,
        "avail": storage.total - used,
    }


def node_storages(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/storage (filters: content, storage; `format=1` adds formats)."""
    node = call.text("node")
    wanted_content = set(re.split(r"[,;\s]+", call.optional_text("content") or "")) - {""}
    only = call.optional_text("storage")
    entries: list[StorageEntry] = []
    for storage in call.cluster.storages.values():
        if only and storage.storage != only:
            continue
        if wanted_content and not any(storage.holds(content) for content in wanted_content):
            continue
        if not _audits(call, storage.storage):
            continue
        used = min(storage.total, call.cluster.storage_used(storage, node))
        entry = _status(call.cluster, storage, node) | {"storage": storage.storage}
        entry["used_fraction"] = round(used / storage.total, 6)
        if call.flag("format") and storage.storage_type in _FORMATS:
            default, supported = _FORMATS[storage.storage_type]
            entry["formats"] = {"default": default, "supported": supported}
            entry["select_existing"] = 0
        entries.append(entry)
    return entries


def storage_status(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/storage/{storage}/status."""
    return _status(call.cluster, _storage(call), call.text("node"))


def storage_content(call: ApiCall) -> JsonValue:
    """GET /nodes/{node}/storage/{storage}/content (filters: content, vmid)."""
    storage = _storage(call)
    node = call.text("node")
    content = call.optional_text("content")
    vmid = call.optional_integer("vmid")
    entries: list[ContentEntry] = []
    if content in (None, "backup") and storage.holds("backup"):
        if storage.target is not None:
            datastore = storage.target.datastore
            entries.extend(
                snapshot_content_entry(storage.storage, datastore, snapshot)
                for snapshot in storage.target.snapshots()
            )
        else:
            entries.extend(
                archive.content_entry()
                for archive in call.cluster.backups.archives_on(storage.storage, node)
            )
    if storage.storage_type == "lvmthin":
        entries.extend(
            {
                "volid": f"{storage.storage}:vm-{guest.vmid}-disk-0",
                "content": "images" if guest.guest_type == "qemu" else "rootdir",
                "format": "raw",
                "size": guest.disk_size,
                "used": int(guest.disk_size * guest.profile.disk_share),
                "vmid": guest.vmid,
            }
            for guest in call.cluster.guests_on(node)
            if content in (None, "images" if guest.guest_type == "qemu" else "rootdir")
        )
    if storage.storage == "local":
        entries.extend(
            {"volid": volid, "content": kind, "format": file_format, "size": size, "ctime": 0}
            for kind, volid, file_format, size in _LOCAL_FILES
            if content in (None, kind)
        )
    if vmid is not None:
        entries = [entry for entry in entries if entry.get("vmid") == vmid]
    return sorted(entries, key=lambda entry: str(entry["volid"]))


def vzdump(call: ApiCall) -> JsonValue:
    """POST /nodes/{node}/vzdump: back up guests of this node to a storage (a task)."""
    node = call.text("node")
    vmid_list = call.optional_text("vmid")
    every = call.flag("all")
    if every and vmid_list:
        raise parameter_error({"all": "option conflicts with option 'vmid'"})
    if not every and not vmid_list:
        raise parameter_error({"vmid": "property is missing and it is not optional"})
    vmids = None if every else [int(part) for part in re.split(r"[\s,;]+", vmid_list or "") if part]
    storage_id = call.optional_text("storage") or "local"
    for vmid in vmids if vmids is not None else [g.vmid for g in call.cluster.guests_on(node)]:
        call.require(f"/vms/{vmid}", "VM.Backup")
    call.require(f"/storage/{storage_id}", "Datastore.AllocateSpace")
    backup_storage(call.cluster, storage_id)
    mode = call.optional_text("mode") or "snapshot"
    notes_template = call.optional_text("notes-template")
    command = ["vzdump", *(map(str, vmids) if vmids else ["--all", "1"])]
    command += ["--storage", storage_id, "--mode", mode]
    if notes_template:
        command += ["--notes-template", notes_template]
    task = start_vzdump(
        call.cluster,
        BackupJob(
            node=node,
            vmids=vmids,
            storage=storage_id,
            mode=mode,
            notes_template=notes_template,
            protected=call.flag("protected"),
            command=shlex.join(command),
        ),
        user=call.auth_id,
    )
    return task.upid


HANDLERS: Final[dict[tuple[str, str], Handler]] = {
    ("GET", "/nodes/{node}/storage"): node_storages,
    ("GET", "/nodes/{node}/storage/{storage}/status"): storage_status,
    ("GET", "/nodes/{node}/storage/{storage}/content"): storage_content,
    ("POST", "/nodes/{node}/vzdump"): vzdump,
}
