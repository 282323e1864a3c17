"""Blueprints: valid for HA's loader, installed without overwriting, in sync with the repo copy."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.blueprint.models import Blueprint
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "custom_components" / "homelab_agents" / "blueprints"
PUBLISHED = ROOT / "blueprints"
NAMES = sorted(p.name for p in (SHIPPED / "automation" / "homelab_agents").glob("*.yaml"))


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_is_valid(name: str) -> None:
    """HA's blueprint loader accepts it as an automation blueprint with a source URL."""
    path = SHIPPED / "automation" / "homelab_agents" / name
    blueprint = Blueprint(
        load_yaml_dict(str(path)),
        expected_domain="automation",
        path=str(path),
        schema=BLUEPRINT_SCHEMA,
    )
    assert blueprint.validate() is None
    assert blueprint.metadata["source_url"].endswith(
        f"/blueprints/automation/homelab_agents/{name}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_published_copy_matches_shipped(name: str) -> None:
    """The copy importable by URL is the one HACS installs."""
    relative = Path("automation") / "homelab_agents" / name
    assert (PUBLISHED / relative).read_bytes() == (SHIPPED / relative).read_bytes()


def test_no_published_blueprint_is_missing_from_the_package() -> None:
    """Nothing is published that users of HACS would not get."""
    published = sorted(p.name for p in (PUBLISHED / "automation" / "homelab_agents").glob("*"))
    assert published == NAMES


async def test_setup_installs_and_never_overwrites(hass: HomeAssistant) -> None:
    """Missing blueprints are copied at setup; a user's edited copy stays as it is."""
    target = Path(hass.config.path("blueprints", "automation", "homelab_agents"))
    target.mkdir(parents=True)
    edited = target / NAMES[0]
    edited.write_text("# mine\n")
    assert await async_setup_component(hass, "homelab_agents", {})
    assert sorted(p.name for p in target.glob("*.yaml")) == NAMES
    assert edited.read_text() == "# mine\n"
    shipped = SHIPPED / "automation" / "homelab_agents" / NAMES[1]
    assert (target / NAMES[1]).read_bytes() == shipped.read_bytes()


async def test_install_failure_only_warns(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only config folder does not stop the integration."""
    blocker = Path(hass.config.path("blueprints"))
    blocker.write_text("not a folder")
    assert await async_setup_component(hass, "homelab_agents", {})
    assert "Could not install the homelab_agents blueprints" in caplog.text
