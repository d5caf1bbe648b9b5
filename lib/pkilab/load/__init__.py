"""``pkilab load``: virtual branches on the test host that scale-test a headend and its CA.

See ``docs/load.md``. :mod:`.branch` is one branch (sans-IO: packets and time in, packets out),
:mod:`.fleet` runs many on an event loop, :mod:`.enroll` enrolls them over SCEP, :mod:`.ports`
carries their packets (a simulated link, or the host's addresses), :mod:`.lab` prepares the CA
and headend over CLI, :mod:`.run` drives a run, :mod:`.results` and :mod:`.report` write it up.
"""

# Handshakes negotiating at once unless ``--inflight`` says otherwise (the fleet's pacing, the
# command line and the branch benchmark all start from it). Kept here, where importing it costs nothing.
INFLIGHT = 32
