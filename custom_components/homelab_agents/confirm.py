"""Destructive actions wait for a confirmation from whoever asked, within minutes, exactly once.

A request returns `{action_id, summary, expires_at}` and fires
`homelab_agents_confirmation_requested`; nothing happens until the same requester confirms it
before it expires. Pending actions live in memory only: after a restart none of them runs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
import secrets
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.json import JsonObjectType

from .const import DOMAIN

EVENT_CONFIRMATION_REQUESTED: Final = f"{DOMAIN}_confirmation_requested"
EVENT_CONFIRMATION_FINISHED: Final = f"{DOMAIN}_confirmation_finished"
DEFAULT_CONFIRMATION_TTL: Final = timedelta(minutes=5)
# Telegram callback data holds at most 64 bytes; "hla:confirm:" plus the id stays far below.
ACTION_ID_BYTES: Final = 6  # 8 URL-safe characters
RECENT_KEPT: Final = 200  # finished actions remembered, so a late confirm says why it fails

type Execute = Callable[[], Awaitable[JsonObjectType]]


class ActionState(StrEnum):
    """Where a destructive action stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(kw_only=True)
class PendingAction:
    """A destructive action waiting for its requester's confirmation."""

    action_id: str
    kind: str
    summary: str
    requester: str
    config_entry_id: str
    target: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    execute: Execute = field(repr=False)
    state: ActionState = ActionState.PENDING
    result: JsonObjectType | None = None

    def as_dict(self) -> JsonObjectType:
        """Service response data and event data."""
        return {
            "action_id": self.action_id,
            "kind": self.kind,
            "summary": self.summary,
            "requester": self.requester,
            "config_entry_id": self.config_entry_id,
            "target": dict(self.target),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "state": self.state.value,
        }


CONFIRMATIONS: HassKey[ConfirmationRegistry] = HassKey(f"{DOMAIN}_confirmations")


@callback
def async_get_confirmations(hass: HomeAssistant) -> ConfirmationRegistry:
    """The one registry of the Home Assistant instance."""
    if (registry := hass.data.get(CONFIRMATIONS)) is None:
        registry = hass.data[CONFIRMATIONS] = ConfirmationRegistry(hass)
    return registry


def _refused(key: str, action_id: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"action_id": action_id},
    )


class ConfirmationRegistry:
    """Pending destructive actions; confirm and cancel check requester, expiry and state."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start empty."""
        self._hass = hass
        self._actions: OrderedDict[str, PendingAction] = OrderedDict()
        self._listeners: list[Callable[[], None]] = []
        self._timers: dict[str, CALLBACK_TYPE] = {}

    @callback
    def async_request(
        self,
        *,
        kind: str,
        summary: str,
        requester: str,
        config_entry_id: str,
        target: dict[str, Any],
        execute: Execute,
        ttl: timedelta = DEFAULT_CONFIRMATION_TTL,
    ) -> PendingAction:
        """Record a destructive action; it runs only through `async_confirm`."""
        now = dt_util.utcnow()
        action_id = secrets.token_urlsafe(ACTION_ID_BYTES)
        while action_id in self._actions:
            action_id = secrets.token_urlsafe(ACTION_ID_BYTES)
        action = PendingAction(
            action_id=action_id,
            kind=kind,
            summary=summary,
            requester=requester,
            config_entry_id=config_entry_id,
            target=target,
            created_at=now,
            expires_at=now + ttl,
            execute=execute,
        )

        @callback
        def expire(_now: datetime) -> None:
            self._expire(action_id)

        self._timers[action_id] = async_call_later(self._hass, ttl, expire)
        self._actions[action_id] = action
        self._hass.bus.async_fire(EVENT_CONFIRMATION_REQUESTED, action.as_dict())
        self._changed()
        return action

    async def async_confirm(self, action_id: str, requester: str) -> PendingAction:
        """Run the action once, for its requester, before it expires."""
        action = self._pending(action_id, requester)
        if dt_util.utcnow() >= action.expires_at:
            self._expire(action_id)
            raise _refused("action_expired", action_id)
        # Claimed before the first await: a concurrent confirm now finds it running.
        action.state = ActionState.RUNNING
        self._stop_expiry(action)
        self._changed()
        try:
            action.result = await action.execute()
        except Exception:
            action.state = ActionState.FAILED
            self._finish(action)
            raise
        action.state = ActionState.DONE
        self._finish(action)
        return action

    @callback
    def async_cancel(self, action_id: str, requester: str) -> PendingAction:
        """Drop a pending action without running it."""
        action = self._pending(action_id, requester)
        action.state = ActionState.CANCELLED
        self._stop_expiry(action)
        self._finish(action)
        return action

    @callback
    def async_cancel_entry(self, config_entry_id: str) -> None:
        """Unloading an entry cancels its pending actions (they would act on a stale runtime)."""
        for action in list(self._actions.values()):
            if action.config_entry_id == config_entry_id and action.state is ActionState.PENDING:
                action.state = ActionState.CANCELLED
                self._stop_expiry(action)
                self._finish(action)

    def pending(
        self, requester: str | None = None, config_entry_id: str | None = None
    ) -> list[PendingAction]:
        """Open actions, optionally of one requester or one entry."""
        return [
            action
            for action in self._actions.values()
            if action.state is ActionState.PENDING
            and (requester is None or action.requester == requester)
            and (config_entry_id is None or action.config_entry_id == config_entry_id)
        ]

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` whenever the set of pending actions changes."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    def _pending(self, action_id: str, requester: str) -> PendingAction:
        action = self._actions.get(action_id)
        if action is None:
            raise _refused("unknown_action", action_id)
        if action.requester != requester:
            # Checked before the state, so a stranger learns nothing about the action.
            raise _refused("wrong_requester", action_id)
        if action.state is ActionState.EXPIRED:
            raise _refused("action_expired", action_id)
        if action.state is not ActionState.PENDING:
            raise _refused("action_not_pending", action_id)
        return action

    @callback
    def _expire(self, action_id: str) -> None:
        action = self._actions.get(action_id)
        if action is None or action.state is not ActionState.PENDING:
            return
        action.state = ActionState.EXPIRED
        self._timers.pop(action_id, None)
        self._finish(action)

    def _stop_expiry(self, action: PendingAction) -> None:
        if (unsub := self._timers.pop(action.action_id, None)) is not None:
            unsub()

    def _finish(self, action: PendingAction) -> None:
        data = action.as_dict()
        if action.result is not None:
            data["result"] = action.result
        self._hass.bus.async_fire(EVENT_CONFIRMATION_FINISHED, data)
        while len(self._actions) > RECENT_KEPT:
            oldest_id, oldest = next(iter(self._actions.items()))
            if oldest.state is ActionState.PENDING:
                break
            del self._actions[oldest_id]
        self._changed()

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()
