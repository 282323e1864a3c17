"""Config-flow steps of each source kind, mixed into the one flow class in `config_flow.py`.

A kind's module defines a `ConfigFlow` mixin (no domain) with `async_step_<kind>` and, when the
kind has them, `async_step_reauth_<kind>` and `async_step_reconfigure_<kind>`, plus its options
flow. `config_flow.py` adds the mixin to its bases and the options flow to `OPTIONS_FLOWS`; the
reauth and reconfigure entry points dispatch on the entry's kind by those step names.
"""
