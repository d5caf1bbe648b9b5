"""Genie parser classes for ``os: ios``, one per parser of pkilab's registry."""

from pkilab.genie._build import classes_for

globals().update(classes_for(__name__))
