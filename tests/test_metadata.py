"""Repository metadata: an offline stand-in for hassfest and the HACS validator."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
import yaml

from custom_components.homelab_agents.const import IMPLEMENTED_KINDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "custom_components" / "homelab_agents"

# The Integration Quality Scale rules (hassfest's list for HA 2026.10).
QUALITY_RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
    "docs-high-level-description", "docs-installation-instructions", "docs-removal-instructions",
    "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data",
    "test-before-configure", "test-before-setup", "unique-config-entry",
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices",
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _python_sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_manifest_keys_and_order() -> None:
    """Domain and name first, the rest sorted; required keys present; versions pinned."""
    manifest = _json(PACKAGE / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    for key in (
        "codeowners",
        "config_flow",
        "dependencies",
        "documentation",
        "integration_type",
        "iot_class",
        "requirements",
        "version",
    ):
        assert key in manifest, key
    assert manifest["domain"] == PACKAGE.name
    assert manifest["config_flow"] is True
    assert "webhook" in manifest["dependencies"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", r) for r in manifest["requirements"])
    assert any(r.startswith("proxmoxer==") for r in manifest["requirements"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])


def test_manifest_requirements_match_test_pins() -> None:
    """What the integration asks HA to install is what the tests run with."""
    manifest = _json(PACKAGE / "manifest.json")
    pins = {
        line.split("==")[0].lower(): line.strip()
        for line in (ROOT / "requirements_test.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in manifest["requirements"]:
        assert pins[requirement.split("==")[0].lower()] == requirement


def test_hacs_json() -> None:
    """HACS metadata names the integration and the minimum HA actually tested."""
    hacs = _json(ROOT / "hacs.json")
    assert set(hacs) <= {
        "name", "homeassistant", "render_readme", "content_in_root", "zip_release",
        "filename", "hide_default_branch", "country", "hacs", "persistent_directory",
    }  # fmt: skip
    assert hacs["name"]
    requirements = (ROOT / "requirements_test.txt").read_text()
    assert "pytest-homeassistant-custom-component==0.13.375" in requirements
    assert hacs["homeassistant"] == "2026.10.4"


def test_quality_scale_uses_known_rules_and_explains_exemptions() -> None:
    """Every rule is known, every rule is listed, exempt and todo have a comment."""
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for name, value in rules.items():
        if isinstance(value, dict):
            assert value["status"] in {"exempt", "todo", "done"}, name
            assert value.get("comment"), name
        else:
            assert value == "done", name


def _translation_keys(tree: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            keys |= _translation_keys(value, path)
        else:
            keys.add(path)
    return keys


def _code_strings() -> set[str]:
    found: set[str] = set()
    for path in _python_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_exception_and_issue_translations_match_code() -> None:
    """Every translation_key used in code exists and no exception/issue key is unused."""
    strings = _json(PACKAGE / "translations" / "en.json")
    used: set[str] = set()
    for path in _python_sources():
        used |= set(re.findall(r'translation_key="([a-z_]+)"', path.read_text()))
    defined = set(strings["exceptions"]) | set(strings["issues"])
    entity_keys = {key for entities in strings["entity"].values() for key in entities}
    assert used - defined - entity_keys == set(), "keys used in code without a translation"
    # Keys may also be passed through helpers (e.g. confirm.py's `_refused("unknown_action")`).
    assert defined - used - _code_strings() == set(), "translations no code uses"


def test_flow_translations_cover_steps_errors_and_aborts() -> None:
    """Every form error and abort reason the flow can produce has a text, and none is unused."""
    strings = _json(PACKAGE / "translations" / "en.json")
    source = "\n".join(
        path.read_text()
        for path in [PACKAGE / "config_flow.py", *sorted((PACKAGE / "flows").glob("*.py"))]
    )
    errors = set(re.findall(r'\{(?:"base"|CONF_[A-Z]+): "([a-z_]+)"\}', source))
    assert errors == set(strings["config"]["error"])
    aborts = set(re.findall(r'reason="([a-z_]+)"', source)) | {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
    }
    assert aborts == set(strings["config"]["abort"])
    steps = set(re.findall(r'step_id ?= ?"([a-z_]+)"', source))
    assert steps == set(strings["config"]["step"]) | set(strings["options"]["step"])


def test_flow_menu_offers_every_implemented_kind_with_a_text() -> None:
    """The first step's menu texts are exactly the kinds the flow offers."""
    menu = _json(PACKAGE / "translations" / "en.json")["config"]["step"]["user"]["menu_options"]
    assert list(menu) == [kind.value for kind in IMPLEMENTED_KINDS]


def test_entity_translations_and_icons_match_descriptions() -> None:
    """Every entity translation key has a name and an icon, and every icon has an entity."""
    strings = _json(PACKAGE / "translations" / "en.json")["entity"]
    icons = _json(PACKAGE / "icons.json")["entity"]
    code = _code_strings()
    for platform, entities in strings.items():
        for key, value in entities.items():
            assert "name" in value, (platform, key)
            assert key in code, (platform, key)
            assert key in icons[platform], (platform, key)
    for platform, entities in icons.items():
        assert set(entities) == set(strings[platform]), platform


def test_services_yaml_translations_and_icons_agree() -> None:
    """services.yaml, the service translations and icons list the same services and fields."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    strings = _json(PACKAGE / "translations" / "en.json")["services"]
    icons = _json(PACKAGE / "icons.json")["services"]
    assert set(services) == set(strings) == set(icons)
    for name, service in services.items():
        assert set(service.get("fields", {})) == set(strings[name]["fields"]), name
        assert strings[name]["name"], name
        assert strings[name]["description"], name


async def test_services_yaml_matches_registered_services(hass: HomeAssistant) -> None:
    """The services HA registers are exactly those services.yaml describes."""
    assert await async_setup_component(hass, "homelab_agents", {})
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    registered = hass.services.async_services_for_domain("homelab_agents")
    assert set(registered) == set(services)


def test_brand_icon_present() -> None:
    """The brand icon HACS and HA show."""
    icon = PACKAGE / "brand" / "icon.png"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path", _python_sources(), ids=lambda p: p.name)
def test_no_todo_without_issue(path: Path) -> None:
    """No TODO left without an issue number."""
    for line in path.read_text().splitlines():
        # A TODO comment (not Platform.TODO) must name its issue: "# TODO(#12): ...".
        if re.search(r"#.*\bTODO\b", line):
            assert re.search(r"TODO\(#\d+\)", line), line
