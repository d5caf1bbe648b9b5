"""Genie parser classes for ``platform: cat6k`` under ``os: ios``, one per parser of pkilab's registry."""

from pkilab.genie._build import classes_for

globals().update(classes_for(__name__))
