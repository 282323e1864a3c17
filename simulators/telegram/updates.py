"""The bot's update queue and getUpdates' long polling, with Telegram's offset semantics.

Telegram keeps an update until a getUpdates call confirms it by passing an `offset` above its
`update_id`; until then every call returns it again. A call with `timeout` > 0 that finds nothing
is held open until an update arrives or the timeout passes. A second getUpdates while one is held
ends the first with 409 Conflict, which is how Telegram tells two pollers of one token apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Final

from .wire import BotApiError, JsonObject

# Telegram delivers every kind of update except these unless asked for them explicitly.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MAX_UPDATES_PER_CALL: Final = 100

_WEBHOOK_ACTIVE: Final = BotApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first",
)
_TERMINATED: Final = BotApiError(
    409,
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running",
)


@dataclass(slots=True)
class _HeldPoll:
    """A getUpdates call waiting for an update."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


class UpdateQueue:
    """Updates waiting for the bot, and the long poll (at most one) waiting for updates."""

    def __init__(self, *, first_update_id: int, on_change: Callable[[], None]) -> None:
        """Start empty; `on_change` runs whenever updates are added or confirmed."""
        self._pending: list[JsonObject] = []
        self._next_update_id = first_update_id
        self._allowed: frozenset[str] | None = None
        self._held: _HeldPoll | None = None
        self._closed = False
        self._on_change = on_change
        self.webhook_url = ""

    @property
    def pending(self) -> int:
        """How many updates wait for confirmation (getWebhookInfo's pending_update_count)."""
        return len(self._pending)

    def is_pending(self, update_id: int) -> bool:
        """Whether the update still waits for a getUpdates call to confirm it."""
        return any(_update_id(update) == update_id for update in self._pending)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates call is being held open right now."""
        return self._held is not None

    def put(self, kind: str, payload: JsonObject) -> int:
        """Queue an update of `kind` ("message", "callback_query", ...); return its update_id.

        As on Telegram, an update of a kind the bot's allowed_updates leave out is never stored.
        """
        update_id = self._next_update_id
        self._next_update_id += 1
        if self._accepts(kind):
            self._pending.append({"update_id": update_id, kind: payload})
            if self._held is not None:
                self._held.wake.set()
        self._on_change()
        return update_id

    def drop_pending(self) -> None:
        """Forget every waiting update (deleteWebhook / setWebhook with drop_pending_updates)."""
        self._confirm(self._next_update_id)

    def close(self) -> None:
        """Release a held poll now and answer later ones at once: the server is stopping."""
        self._closed = True
        if self._held is not None:
            self._held.wake.set()

    def reopen(self) -> None:
        """Hold polls again after a restart."""
        self._closed = False

    async def get(
        self,
        *,
        offset: int | None,
        limit: int,
        poll_seconds: float,
        allowed_updates: Collection[str] | None,
    ) -> list[JsonObject]:
        """Answer a getUpdates call: confirm below `offset`, then return or wait for updates.

        With nothing to return, the call is held up to `poll_seconds` (getUpdates' `timeout`).
        """
        if self.webhook_url:
            raise _WEBHOOK_ACTIVE
        if allowed_updates is not None:
            # An empty list restores the default; leaving the field out keeps the last setting.
            self._allowed = frozenset(allowed_updates) or None
        if offset is not None:
            self._confirm_offset(offset)
        if self._held is not None:
            self._held.terminated = True
            self._held.wake.set()
            self._held = None
        if not self._pending and poll_seconds > 0 and not self._closed:
            await self._hold(poll_seconds)
        return [
            dict(update) for update in self._pending[: max(1, min(limit, MAX_UPDATES_PER_CALL))]
        ]

    async def _hold(self, seconds: float) -> None:
        poll = _HeldPoll()
        self._held = poll
        self._on_change()
        try:
            async with asyncio.timeout(seconds):
                await poll.wake.wait()
        except TimeoutError:
            pass
        finally:
            if self._held is poll:
                self._held = None
        if poll.terminated:
            raise _TERMINATED

    def _accepts(self, kind: str) -> bool:
        if self._allowed is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed

    def _confirm_offset(self, offset: int) -> None:
        if offset >= 0:
            self._confirm(offset)
        elif self._pending:
            # A negative offset keeps only the last -offset updates and forgets the rest.
            keep = self._pending[offset:]
            self._confirm(_update_id(keep[0]))

    def _confirm(self, below: int) -> None:
        remaining = [update for update in self._pending if _update_id(update) >= below]
        if len(remaining) != len(self._pending):
            self._pending = remaining
            self._on_change()


def _update_id(update: JsonObject) -> int:
    update_id = update["update_id"]
    if not isinstance(update_id, int):
        raise TypeError("update_id must be an integer")
    return update_id
