"""The JUnit property names pkilab writes and reads: the contract between its two sides.

pytest's side (the plugin, the fixtures, certify) writes them and the reports read them
(docs/reports.md); declared once, below both.
"""

from __future__ import annotations

# JUnit testsuite property names (the plugin's contract, see docs/reports.md).
PROP_TESTBED = "testbed"
PROP_TESTBED_FILE = "testbed_file"
PROP_PLAN = "lab_plan"  # the lab plan's facts as JSON (pkilab.plan.LabPlan.to_dict)
PROP_DEVICE_PREFIX = "device."
# JUnit testcase property names.
PROP_SEED_SECTION = "seed_section"
PROP_DEVICES = "devices"
PROP_NODEID = "nodeid"
# Added by enrichment so that a merged file still says where each result came from.
PROP_IMAGE = "image"
PROP_RUN = "run"
PROP_XDIST_GROUP = "xdist_group"
# Written by `pkilab certify` when the run was interrupted: the signal (suite property), and the
# JUnit `<skipped type=…>` of a test that never ran or never finished (outcome "notrun").
PROP_INTERRUPTED = "interrupted"
NOT_RUN_TYPE = "pkilab.notrun"
