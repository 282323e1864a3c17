"""The webhook Alertmanager posts to: authentication, size bound, validation, then the store.

Every outcome is a status code Alertmanager understands: 200 stored, 400 not a valid
version-4 payload, 401 token missing or wrong, 413 body too large, 503 not ready (Alertmanager
retries). Invalid input never changes the store.
"""

from __future__ import annotations

from collections.abc import Callable
import hmac
from http import HTTPStatus

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.json import json_loads

from ..const import LOGGER, WEBHOOK_MAX_BODY_BYTES
from .payload import InvalidPayloadError, parse_payload
from .store import AlertStore

_READ_CHUNK = 64 * 1024


class AlertWebhook:
    """Receives Alertmanager's webhook deliveries for one entry."""

    def __init__(
        self,
        store: AlertStore,
        token: str | None,
        on_truncated: Callable[[], None],
    ) -> None:
        """Deliver into `store`; `token` is the required bearer token, None for none."""
        self._store = store
        self._expected = f"Bearer {token}".encode() if token else None
        self._on_truncated = on_truncated
        self.accepting = True

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Handle one delivery; never raises."""
        try:
            return await self._handle(request)
        except Exception:  # noqa: BLE001
            # Alertmanager retries on 5xx, so nothing valid is lost while we fix the bug.
            LOGGER.exception("Unexpected error handling an Alertmanager delivery")
            return web.Response(status=HTTPStatus.INTERNAL_SERVER_ERROR)

    async def _handle(self, request: web.Request) -> web.Response:
        if not self._ready():
            return _reply(HTTPStatus.SERVICE_UNAVAILABLE, "not ready, retry later")
        if self._expected is not None:
            offered = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(offered, self._expected):
                LOGGER.debug("Refused an Alertmanager delivery from %s: bad token", request.remote)
                return _reply(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token")
        if (request.content_length or 0) > WEBHOOK_MAX_BODY_BYTES:
            return _reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        body = await _read_bounded(request)
        if body is None:
            return _reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        try:
            payload = parse_payload(json_loads(body))
        except (ValueError, InvalidPayloadError) as err:
            LOGGER.debug("Refused an invalid Alertmanager delivery: %s", err)
            return _reply(HTTPStatus.BAD_REQUEST, f"invalid payload: {err}"[:300])
        if not self._ready():  # unloading began while the body was read
            return _reply(HTTPStatus.SERVICE_UNAVAILABLE, "not ready, retry later")
        self._store.async_apply_webhook(
            payload.alerts, payload.group_key, payload.truncated_alerts, dt_util.utcnow()
        )
        if payload.truncated_alerts:
            LOGGER.warning(
                "Alertmanager left %s alerts out of a delivery (max_alerts); reading its API",
                payload.truncated_alerts,
            )
            self._on_truncated()
        return _reply(HTTPStatus.OK, "ok")

    def _ready(self) -> bool:
        return self.accepting and self._store.loaded


async def _read_bounded(request: web.Request) -> bytes | None:
    """Read the body unless it grows past the cap (chunked bodies have no length up front)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size > WEBHOOK_MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reply(status: HTTPStatus, text: str) -> web.Response:
    return web.Response(status=status, text=text)
