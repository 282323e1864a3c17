"""The backup tools of the homelab LLM API."""

from __future__ import annotations

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.pbs import PbsSimulator


async def test_list_and_back_up_through_the_llm_api(
    hass: HomeAssistant, pbs: PbsSimulator, setup_pbs: MockConfigEntry, hass_admin_user: User
) -> None:
    """With a PBS entry the API offers list_backups and backup_guest, bounded and working."""
    instance = await llm.async_get_api(
        hass,
        "homelab_agents",
        llm.LLMContext(
            platform="test",
            context=Context(user_id=hass_admin_user.id),
            language="en",
            assistant="conversation",
            device_id=None,
        ),
    )
    assert {"list_backups", "backup_guest"} <= {tool.name for tool in instance.tools}
    listed = await instance.async_call_tool(llm.ToolInput(tool_name="list_backups", tool_args={}))
    assert listed.data["count"] == min(listed.data["total"], 20)
    assert len(listed.data["backups"]) == listed.data["count"]
    vmid = next(b["vmid"] for b in listed.data["backups"] if b["type"] == "vm")
    backed_up = await instance.async_call_tool(
        llm.ToolInput(tool_name="backup_guest", tool_args={"vmid": vmid, "notes": "by agent"})
    )
    assert not backed_up.error
    assert backed_up.data["status"] == "ok"
