"""Benchmarks run in Home Assistant's test harness to use its real HTTP stack."""

from __future__ import annotations

import pytest

from tests.conftest import (  # noqa: F401  (fixtures shared with the tests)
    alertmanager_url,
    auto_enable_custom_integrations,
    auto_socket_enabled,
    entry_options,
    init_integration,
    mock_config_entry,
    post_webhook,
    webhook_client,
)


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A config folder per benchmark: setup installs blueprints into it."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Keep benchmark output to the figures."""
    caplog.set_level("WARNING")
