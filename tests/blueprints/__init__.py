"""Tests of the shipped blueprints through Home Assistant's blueprint and automation engines."""
