"""Genie external-parser package of pkilab's parsers (``PYATS_LIBS_EXTERNAL_PARSER=pkilab.genie.parsers``).

Genie walks this package: each OS folder declares its ``os`` token and holds one module of
parser classes generated from pkilab's registry (see :mod:`pkilab.genie`).
"""

from genie import abstract

abstract.declare_package()
