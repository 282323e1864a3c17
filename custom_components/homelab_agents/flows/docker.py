"""Config-flow steps of a Docker host: endpoint, TLS material, test call, reconfigure, options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import probatio

from ..const import (
    CONF_AGENT_CONTROL_FOR_USERS,
    CONF_CONFIRMATION_MINUTES,
    CONF_KIND,
    DEFAULT_CONFIRMATION_MINUTES,
    LOGGER,
    SourceKind,
)
from ..docker.client import (
    DockerAuthError,
    DockerCertificateError,
    DockerConnectionError,
    DockerEndpointError,
    DockerError,
    DockerPermissionError,
    DockerTlsError,
    async_create_client,
)
from ..docker.const import (
    CONF_CA_CERT,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
    CONF_STATS_INTERVAL,
    CONF_STOP_TIMEOUT,
    DEFAULT_STATS_INTERVAL,
    DEFAULT_STOP_TIMEOUT,
)
from ..docker.models import engine_identity
from ..docker.runtime import endpoint_from
from .common import MULTILINE_SELECTOR, SingleFormOptionsFlow, clean_data, number_box

DOCKER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_URL, default="unix:///var/run/docker.sock"): str,
        probatio.Required(CONF_VERIFY_SSL, default=True): bool,
        probatio.Optional(CONF_CA_CERT): MULTILINE_SELECTOR,
        probatio.Optional(CONF_CLIENT_CERT): MULTILINE_SELECTOR,
        probatio.Optional(CONF_CLIENT_KEY): MULTILINE_SELECTOR,
    }
)
DOCKER_OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_STATS_INTERVAL, default=DEFAULT_STATS_INTERVAL): probatio.All(
            number_box(0, 86400), probatio.Coerce(int)
        ),
        probatio.Required(CONF_STOP_TIMEOUT, default=DEFAULT_STOP_TIMEOUT): probatio.All(
            number_box(1, 600), probatio.Coerce(int)
        ),
        probatio.Required(
            CONF_CONFIRMATION_MINUTES, default=DEFAULT_CONFIRMATION_MINUTES
        ): probatio.All(number_box(1, 60), probatio.Coerce(int)),
        probatio.Required(CONF_AGENT_CONTROL_FOR_USERS, default=False): bool,
    }
)


async def probe_docker(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """`GET /version` and `/info`; returns the engine's info or the form errors to show."""
    try:
        client = await async_create_client(hass, endpoint_from(data))
    except DockerEndpointError:
        return None, {CONF_URL: "invalid_url"}
    except DockerCertificateError:
        return None, {"base": "invalid_certificate"}
    try:
        version = await client.version()
        info = await client.info()
    except DockerTlsError:
        return None, {"base": "ssl_error"}
    except DockerPermissionError:
        return None, {"base": "permission_denied"}
    except DockerConnectionError:
        return None, {"base": "cannot_connect"}
    except DockerAuthError:
        return None, {"base": "invalid_auth"}
    except DockerError:
        return None, {"base": "not_docker"}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while checking the Docker engine")
        return None, {"base": "unknown"}
    finally:
        await client.close()
    identity = engine_identity(version, info) if "Version" in version else None
    if identity is None:
        return None, {"base": "not_docker"}
    return {**info, "identity": identity}, {}


def _data(user_input: dict[str, Any]) -> dict[str, Any]:
    data = clean_data(dict(user_input))
    data[CONF_KIND] = SourceKind.DOCKER.value
    return data


class DockerFlowMixin(ConfigFlow):
    """Connect a Docker host (Docker Engine or Podman) by its API endpoint."""

    async def async_step_docker(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the endpoint (and TLS material), check it, one entry per engine ID."""
        errors: dict[str, str] = {}
        if user_input is not None:
            info, errors = await probe_docker(self.hass, clean_data(user_input))
            if info is not None:
                await self.async_set_unique_id(f"docker:{info['identity']}")
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=f"Docker {info.get('Name') or info['identity'][:12]}",
                    data=_data(user_input),
                )
        return self.async_show_form(
            step_id="docker",
            data_schema=self.add_suggested_values_to_schema(DOCKER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure_docker(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the endpoint or certificates of the same engine; an empty key keeps the old."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _data(user_input)
            stored_key = entry.data.get(CONF_CLIENT_KEY)
            if CONF_CLIENT_CERT in data and CONF_CLIENT_KEY not in data and stored_key:
                data[CONF_CLIENT_KEY] = stored_key
            info, errors = await probe_docker(self.hass, data)
            if info is not None:
                await self.async_set_unique_id(f"docker:{info['identity']}")
                self._abort_if_unique_id_mismatch(reason="wrong_engine")
                return self.async_update_reload_and_abort(entry, data=data)
        suggested = user_input or {
            k: v for k, v in entry.data.items() if k not in (CONF_CLIENT_KEY, CONF_KIND)
        }
        return self.async_show_form(
            step_id="reconfigure_docker",
            data_schema=self.add_suggested_values_to_schema(DOCKER_SCHEMA, suggested),
            errors=errors,
        )


class DockerOptionsFlow(SingleFormOptionsFlow):
    """Stats interval (the cost of CPU and memory figures), stop timeout, confirmations."""

    step_id = "docker_options"
    schema = DOCKER_OPTIONS_SCHEMA
    async_step_docker_options = SingleFormOptionsFlow.form
