"""The aiohttp application: what pveproxy does around every handler, in PVE's order.

Per request: count it, apply an injected fault, authenticate (token header or ticket cookie plus
CSRF token on writes), proxy to the path's node (595 when it is offline), run the declarative
permission check from the schema, verify the parameters against the schema, refuse writes without
quorum, then call the handler and wrap its result in `{"data": ...}`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
import json
from typing import Final

from aiohttp import web

from . import api_cluster, api_guests, api_storage, api_tasks
from .access import AccessControl, AuthenticationError, Caller
from .calls import ApiCall, Handler
from .errors import PveError, parameter_error
from .faults import FaultInjector, FaultKind
from .model import Cluster
from .schema import EndpointSchema, JsonValue, ParameterError, SchemaSubset, check_parameters

API_PREFIX: Final = "/api2/json"
HANDLERS: Final[dict[tuple[str, str], Handler]] = {
    **api_cluster.HANDLERS,
    **api_guests.HANDLERS,
    **api_tasks.HANDLERS,
    **api_storage.HANDLERS,
}


class RequestCounter(Counter[str]):
    """Requests received, keyed `METHOD /route/template` below `/api2/json`.

    E.g. `counter["GET /cluster/resources"]`, or
    `counter["POST /nodes/{node}/qemu/{vmid}/status/start"]`; `total()` counts them all.
    """

    def reset(self) -> None:
        """Forget the counts (before measuring one poll, say)."""
        self.clear()


@dataclass(frozen=True, slots=True)
class ServerState:
    """What every request may touch."""

    cluster: Cluster
    access: AccessControl
    faults: FaultInjector
    requests: RequestCounter
    schema: SchemaSubset
    unauthorized_delay: float = 0.0  # pveproxy delays failed logins by 3 s


def build_app(state: ServerState) -> web.Application:
    """The application serving `/api2/json/...` for a simulated cluster."""
    app = web.Application(middlewares=[_count_and_inject_faults(state)])
    for (method, template), handler in HANDLERS.items():
        endpoint = state.schema.endpoint(method, template)
        app.router.add_route(method, API_PREFIX + template, _serve(state, endpoint, handler))
    app.router.add_route("*", "/{tail:.*}", _not_implemented)
    return app


type RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _count_and_inject_faults(state: ServerState) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        route = request.match_info.route.resource
        template = route.canonical if route is not None else request.path
        if not template.startswith(API_PREFIX):
            template = request.path
        state.requests[f"{request.method} {template.removeprefix(API_PREFIX)}"] += 1
        path = request.path.removeprefix(API_PREFIX)
        fault = state.faults.take(request.method, path)
        if fault is None:
            return await handler(request)
        if fault.status is not None:
            return _error_response(PveError(fault.status, fault.message))
        await state.faults.hold(fault.delay)
        if fault.kind is FaultKind.SLOW:
            return await handler(request)
        # TIMEOUT (once released) and DROP: close the connection without a response.
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    return middleware


async def _not_implemented(request: web.Request) -> web.StreamResponse:
    path = request.path.removeprefix(API_PREFIX)
    return _error_response(PveError(501, f"Method '{request.method} {path}' not implemented"))


def _serve(state: ServerState, endpoint: EndpointSchema, handler: Handler) -> RequestHandler:
    open_to_world = endpoint.permissions.get("user") == "world"

    async def run(request: web.Request) -> JsonValue:
        raw = await _raw_parameters(request)
        caller = None if open_to_world else _authenticate(state.access, request)
        if endpoint.proxied_to_node:
            _proxy_to(state.cluster, request.match_info["node"])
        if caller is not None:
            _check_permissions(caller, endpoint, raw)
        try:
            params = check_parameters(raw, endpoint.parameters)
        except ParameterError as err:
            raise parameter_error(err.errors) from err
        if request.method != "GET" and not open_to_world and not state.cluster.quorate:
            raise PveError(500, "cluster not ready - no quorum?")
        return handler(ApiCall(state.cluster, state.access, caller, params))

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            data = await run(request)
        except PveError as err:
            if err.status == 401 and state.unauthorized_delay:
                await state.faults.hold(state.unauthorized_delay)
            return _error_response(err)
        return _json_response({"data": data})

    return handle


async def _raw_parameters(request: web.Request) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {name: [value] for name, value in request.match_info.items()}
    _merge(raw, request.query.items())
    if request.method in ("POST", "PUT") and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, Mapping):
                for name, value in body.items():
                    values = value if isinstance(value, list) else [value]
                    raw.setdefault(str(name), []).extend(_as_text(item) for item in values)
        else:
            _merge(raw, (await request.post()).items())
    return raw


def _merge(raw: dict[str, list[str]], values: Iterable[tuple[str, object]]) -> None:
    for name, value in values:
        if isinstance(value, str):
            raw.setdefault(name, []).append(value)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _authenticate(access: AccessControl, request: web.Request) -> Caller:
    try:
        caller = access.authenticate(
            request.headers.get("Authorization"), request.cookies.get("PVEAuthCookie")
        )
    except AuthenticationError as err:
        raise PveError(401, str(err)) from err
    if (
        caller.csrf_token is not None
        and request.method != "GET"
        and request.headers.get("CSRFPreventionToken") != caller.csrf_token
    ):
        raise PveError(401, "Permission denied - invalid csrf token")
    return caller


def _proxy_to(cluster: Cluster, node_name: str) -> None:
    node = cluster.nodes.get(node_name)
    if node is None:
        raise PveError(
            500,
            f"hostname lookup '{node_name}' failed - failed to get address info for: "
            f"{node_name}: Name or service not known",
        )
    if not node.online:
        raise PveError(595, "No route to host")


def _check_permissions(
    caller: Caller, endpoint: EndpointSchema, raw: Mapping[str, list[str]]
) -> None:
    check = endpoint.permissions.get("check")
    if not isinstance(check, list) or len(check) < 3 or check[0] != "perm":
        return
    path = str(check[1])
    for name, values in raw.items():
        path = path.replace(f"{{{name}}}", values[-1])
    privileges = [str(privilege) for privilege in check[2]] if isinstance(check[2], list) else []
    if "any" in check[3:]:
        if not any(caller.allows(path, privilege) for privilege in privileges):
            raise PveError(403, f"Permission check failed ({path}, {'|'.join(privileges)})")
        return
    for privilege in privileges:
        if not caller.allows(path, privilege):
            raise PveError(403, f"Permission check failed ({path}, {privilege})")


def _json_response(
    body: Mapping[str, JsonValue], status: int = 200, reason: str | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        reason=reason,
        content_type="application/json",
        charset="utf-8",
    )


def _error_response(error: PveError) -> web.Response:
    # PVE puts the message in the status line, which proxmoxer surfaces as the reason.
    body: dict[str, JsonValue] = {"data": None}
    if error.errors:
        body["errors"] = error.errors
    reason = error.message.splitlines()[0] if error.message else None
    return _json_response(body, error.status, reason)
