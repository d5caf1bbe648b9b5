"""The simulated router's features, all listed here: :data:`FEATURES` (the lab installs them).

The list is the order in which a router builds and starts its features: each feature comes after
every feature it imports (and so may reach with ``router.feature(Other)``), a rule that
``tests/unit/sim/test_kernel.py`` checks. Where a feature's lines go in the running configuration
is its own ``order``, not its place here.
"""

from pkilab.sim.features.acl import Acl
from pkilab.sim.features.admin import Admin
from pkilab.sim.features.ca_server import CaServer
from pkilab.sim.features.ca_show import CaServerShow
from pkilab.sim.features.clock import Ntp
from pkilab.sim.features.crypto_config import CryptoConfig
from pkilab.sim.features.crypto_ike import Crypto
from pkilab.sim.features.crypto_show import CryptoShow
from pkilab.sim.features.enroll import Enrollment
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.lines import Lines
from pkilab.sim.features.login import Login
from pkilab.sim.features.system import System
from pkilab.sim.features.trustpoint import Trustpoints
from pkilab.sim.router import Feature

FEATURES: tuple[type[Feature], ...] = (
    System,  # hostname, users, logging: everything else logs through it
    Acl,
    Login,  # login block-for / quiet mode (uses access lists)
    Lines,  # console and vty lines
    Ip,  # interfaces, routing, ICMP/UDP/TCP delivery
    Ntp,  # NTP over Ip's UDP
    Keys,  # RSA key pairs
    Trustpoints,  # trustpoints and their certificates (names key pairs)
    CryptoConfig,  # ISAKMP policies, transform sets, crypto maps (configuration only)
    CaServer,  # the IOS certificate server (keys, trustpoints, database transfers)
    CaServerShow,  # its show commands
    Admin,  # configuration files, copy, reload, show version/logging
    Enrollment,  # SCEP client, CRL fetches (saves the configuration through Admin)
    Crypto,  # IKE and the data plane (CRL checks through Enrollment)
    CryptoShow,  # the crypto show commands
)

__all__ = ["FEATURES"]
