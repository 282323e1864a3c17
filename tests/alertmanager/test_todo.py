"""Firing alerts as a to-do list: checking an alert off acknowledges it."""

from __future__ import annotations

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ..conftest import WebhookPoster
from .payloads import alert, payload

TODO = "todo.alertmanager_127_0_0_1_alerts"


async def _items(hass: HomeAssistant) -> list[dict[str, str]]:
    result = await hass.services.async_call(
        "todo", "get_items", {"entity_id": TODO}, blocking=True, return_response=True
    )
    return result[TODO]["items"]  # type: ignore[index,return-value]


async def test_alerts_as_todo_items(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    post_webhook: WebhookPoster,
    hass_admin_user: User,
) -> None:
    """Most severe first; checking one off acknowledges it as the dashboard's user."""
    await post_webhook(
        payload(
            alert("00000000000000a1", name="Slow", severity="warning"),
            alert("00000000000000a2", name="Down", severity="critical"),
        )
    )
    await hass.async_block_till_done()
    assert hass.states.get(TODO).state == "2"
    items = await _items(hass)
    assert [i["summary"] for i in items] == [
        "critical Down · pve1:9100",
        "warning Slow · pve1:9100",
    ]
    assert items[0]["description"] == "Down on pve1"

    await hass.services.async_call(
        "todo",
        "update_item",
        {"entity_id": TODO, "item": "00000000000000a2", "status": "completed"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done()
    store = init_integration.runtime_data.store
    assert store.active["00000000000000a2"].acknowledged_by == hass_admin_user.name
    assert hass.states.get(TODO).state == "1"
    assert [i["status"] for i in await _items(hass)] == ["completed", "needs_action"]

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "todo",
            "update_item",
            {"entity_id": TODO, "item": "00000000000000a2", "status": "needs_action"},
            blocking=True,
        )
    assert err.value.translation_key == "unacknowledge_not_supported"

    await post_webhook(
        payload(
            alert(
                "00000000000000a2", name="Down", status="resolved", ends_at="2026-11-27T11:00:00Z"
            )
        )
    )
    await hass.async_block_till_done()
    assert [i["summary"] for i in await _items(hass)] == ["warning Slow · pve1:9100"]
