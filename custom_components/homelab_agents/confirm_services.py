"""Service actions of the confirmation mechanism: confirm, cancel and list pending actions."""

from __future__ import annotations

from typing import Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import probatio

from .confirm import async_get_confirmations
from .const import DOMAIN

ATTR_ACTION_ID: Final = "action_id"
ATTR_REQUESTER: Final = "requester"

_REQUESTER = probatio.Optional(ATTR_REQUESTER)
# Voice cannot read an id back: "confirm" alone means the requester's one pending action.
CONFIRM_SCHEMA: Final = probatio.Schema(
    {probatio.Optional(ATTR_ACTION_ID): cv.string, _REQUESTER: cv.string}
)
LIST_SCHEMA: Final = probatio.Schema({_REQUESTER: cv.string})


async def async_resolve_requester(hass: HomeAssistant, call: ServiceCall) -> str:
    """Who asks: the calling HA user, or an explicit requester for chat flows.

    Automations and scripts run without a user and may name the requester (for example
    `telegram:<user id>` from a chat command). A logged-in user may speak for someone else
    only as an administrator, so nobody confirms in another person's name.
    """
    explicit = call.data.get(ATTR_REQUESTER)
    user_id = call.context.user_id
    if explicit:
        if user_id is not None:
            user = await hass.auth.async_get_user(user_id)
            if user is None or not user.is_admin:
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="requester_not_allowed"
                )
        return str(explicit)
    return f"user:{user_id}" if user_id else "system"


@callback
def async_setup_confirm_services(hass: HomeAssistant) -> None:
    """Register confirm_action, cancel_action and list_pending_actions."""

    def action_id_of(call: ServiceCall, requester: str) -> str:
        if action_id := call.data.get(ATTR_ACTION_ID):
            return str(action_id)
        pending = async_get_confirmations(hass).pending(requester=requester)
        if len(pending) != 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="action_id_needed",
                translation_placeholders={"count": str(len(pending))},
            )
        return pending[0].action_id

    async def confirm_action(call: ServiceCall) -> ServiceResponse:
        requester = await async_resolve_requester(hass, call)
        action = await async_get_confirmations(hass).async_confirm(
            action_id_of(call, requester), requester
        )
        return {**action.as_dict(), "result": action.result}

    async def cancel_action(call: ServiceCall) -> ServiceResponse:
        requester = await async_resolve_requester(hass, call)
        action = async_get_confirmations(hass).async_cancel(
            action_id_of(call, requester), requester
        )
        return action.as_dict()

    async def list_pending_actions(call: ServiceCall) -> ServiceResponse:
        requester = call.data.get(ATTR_REQUESTER)
        if requester is not None:
            requester = await async_resolve_requester(hass, call)
        actions = async_get_confirmations(hass).pending(requester=requester)
        return {"actions": [action.as_dict() for action in actions]}

    hass.services.async_register(
        DOMAIN,
        "confirm_action",
        confirm_action,
        CONFIRM_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "cancel_action",
        cancel_action,
        CONFIRM_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "list_pending_actions",
        list_pending_actions,
        LIST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
