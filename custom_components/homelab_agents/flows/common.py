"""Pieces every kind's flow steps share: selectors, data cleaning, one-form options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
MULTILINE_SELECTOR = TextSelector(TextSelectorConfig(multiline=True))


def number_box(low: int, high: int) -> NumberSelector:
    """A whole-number input box between `low` and `high`."""
    return NumberSelector(
        NumberSelectorConfig(min=low, max=high, step=1, mode=NumberSelectorMode.BOX)
    )


def clean_data(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional fields (credentials above all) so they do not linger in the entry."""
    return {k: v for k, v in data.items() if v not in ("", None)}


class SingleFormOptionsFlow(OptionsFlowWithReload):
    """Options of a kind that fit on one form, shown under the kind's own step id.

    Subclasses set `step_id` and `schema`, and alias
    `async_step_<step_id> = SingleFormOptionsFlow.form`.
    """

    step_id: str
    schema: probatio.Schema

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start at the kind's form (its texts live under its own step id)."""
        return await self.form()

    async def form(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options, or save them."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id=self.step_id,
            data_schema=self.add_suggested_values_to_schema(self.schema, self.config_entry.options),
        )
