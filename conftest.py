"""Registers the pkilab pytest plugin; the plugin itself lives in lib/pkilab/plugin.py."""

pytest_plugins = ["pkilab.plugin"]
