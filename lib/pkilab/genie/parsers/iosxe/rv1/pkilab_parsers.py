"""Genie parser classes for ``revision: 1`` under ``os: iosxe``, one per parser of pkilab's registry."""

from pkilab.genie._build import classes_for

globals().update(classes_for(__name__))
