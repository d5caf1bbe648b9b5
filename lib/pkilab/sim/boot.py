"""What a simulated router prints on its console while it reloads and boots, and the console's notices.

The texts are those of a c7200 running under dynamips, as GNS3 runs the seed's routers, taken
from public captures (sources in docs/sim-access.md): a GNS3 c7200 console boot (``ROMMON
emulation microcode``, ``Launching IOS image at 0x80008000...``, the Restricted Rights Legend,
the export notice, the c7200 hardware lines, ``Press RETURN to get started!`` and the log
messages after it), a console session on a CISCO1941 (``erase startup-config``, the System
Configuration Dialog, ``% Please answer 'yes' or 'no'.``, ``<host> con0 is now available``,
``Press RETURN to get started.``, ``User Access Verification``) and unicon's IOS reload mock
(``Would you like to terminate autoinstall? [yes]:``). The version lines come from the
router's own ``show version``, so the console and the CLI never disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pkilab.sim.router import Router

ROM_RELOAD = "ROM: reload requested...\n"
ROMMON = "ROMMON emulation microcode.\n\nLaunching IOS image at 0x80008000...\n\n"
LEGEND = """\
              Restricted Rights Legend

Use, duplication, or disclosure by the Government is
subject to restrictions as set forth in subparagraph
(c) of the Commercial Computer Software - Restricted
Rights clause at FAR sec. 52.227-19 and subparagraph
(c) (1) (ii) of the Rights in Technical Data and Computer
Software clause at DFARS sec. 252.227-7013.

           cisco Systems, Inc.
           170 West Tasman Drive
           San Jose, California 95134-1706



"""
EXPORT = """\


This product contains cryptographic features and is subject to United
States and local country laws governing import, export, transfer and
use. Delivery of Cisco cryptographic products does not imply
third-party authority to import, export, distribute or use encryption.
Importers, exporters, distributors and users are responsible for
compliance with U.S. and local country laws. By using this product you
agree to comply with applicable laws and regulations. If you are unable
to comply with U.S. and local laws, return this product immediately.

A summary of U.S. laws governing Cisco cryptographic products may be found at:
http://www.cisco.com/wwl/export/crypto/tool/stqrg.html

If you require further assistance please contact us by sending email to
export@cisco.com.

"""
C7200_BOARD = """\
R7000 CPU at 150MHz, Implementation 39, Rev 2.1, 256KB L2, 512KB L3 Cache
6 slot VXR midplane, Version 2.1

Last reset from power-on

PCI bus mb0_mb1 (Slots 0, 1, 3 and 5) has a capacity of 600 bandwidth points.
Current configuration on bus mb0_mb1 has a total of 200 bandwidth points.
This configuration is within the PCI bus capacity and is supported.

PCI bus mb2 (Slots 2, 4, 6) has a capacity of 600 bandwidth points.
Current configuration on bus mb2 has a total of 0 bandwidth points
This configuration is within the PCI bus capacity and is supported.

Please refer to the following document "Cisco 7200 Series Port Adaptor
Hardware Configuration Guidelines" on Cisco.com <http://www.cisco.com>
for c7200 bandwidth points oversubscription and usage guidelines.


"""
FLASH = "\n8192K bytes of Flash internal SIMM (Sector size 256K).\n"

SETUP_BANNER = "\n\n         --- System Configuration Dialog ---\n\n"
SETUP_QUESTION = "Would you like to enter the initial configuration dialog? [yes/no]: "
AUTOINSTALL_QUESTION = "Would you like to terminate autoinstall? [yes]: "
PLEASE_ANSWER = "% Please answer 'yes' or 'no'.\n"
SETUP_INTRO = """\

At any point you may enter a question mark '?' for help.
Use ctrl-c to abort configuration dialog at any prompt.
Default settings are in square brackets '[]'.


Basic management setup configures only enough connectivity
for management of the system, extended setup will ask you
to configure each interface on the system

Would you like to enter basic management setup? [yes/no]: """
SETUP_ABORTED = "\nConfiguration aborted, no changes made.\n"  # invented: the simulator has no setup mode
PRESS_RETURN_BOOT = "\n\nPress RETURN to get started!\n\n\n"
USER_ACCESS = "User Access Verification\n\n"
BAD_PASSWORDS = "% Bad passwords\n"  # invented wording for three wrong line passwords
LOGIN_INVALID = "% Login invalid\n\n"  # invented wording for a wrong local username/password
NO_PASSWORD_SET = "Password required, but none set\n"  # invented for the console (IOS says it on vty lines)


def available(hostname: str) -> str:
    """What the console prints when its exec session ends (``exit``, idle timeout)."""
    return "\n" * 33 + f"{hostname} con0 is now available\n" + "\n" * 5 + "Press RETURN to get started.\n\n\n"


def dynamips_greeting(router: Router, instance: int) -> str:
    """What dynamips writes to a client that connects to a console port."""
    platform = (router.spec.platform or "c7200").lower()
    return (
        f'Connected to Dynamips VM "{router.name}" (ID {instance}, type {platform}) - Console port\n'
        "Press ENTER to get the prompt.\n"
    )


def version_lines(router: Router) -> list[str]:
    """The router's ``show version`` (the console and the CLI tell the same version)."""
    from pkilab.sim.features.admin import Admin
    from pkilab.sim.interp import CliSession, Ctx

    ctx = Ctx(router, CliSession(router, privilege=15, interactive=False))
    return router.feature(Admin).show_version(ctx, {}).splitlines()


def boot_text(router: Router) -> str:
    """Everything the console shows from ROMMON to the end of the hardware inventory."""
    version = version_lines(router)
    banner = "\n".join(version[:4])
    hardware = [ln for ln in version if ln.startswith(("Cisco ", "Processor board ID")) and "IOS Software" not in ln]
    inventory = [ln for ln in version if ln.endswith(("interfaces", "interface", "of NVRAM."))]
    return (
        ROMMON
        + LEGEND
        + banner
        + EXPORT
        + "\n".join(hardware)
        + "\n"
        + C7200_BOARD
        + "\n".join(inventory)
        + "\n"
        + FLASH
    )


def restart_messages(router: Router, configured: bool) -> list[str]:
    """The log messages IOS writes once it is up: configuration loaded, restart, interface states."""
    from pkilab.sim.features.ip import Ip

    messages = ["%SYS-5-CONFIG_I: Configured from memory by console"] if configured else []
    messages.append("%SYS-5-RESTART: System restarted --\n" + "\n".join(version_lines(router)[:4]))
    for name, intf in sorted(router.feature(Ip).interfaces.items()):
        if not intf.physical:
            continue
        if intf.shutdown:
            messages.append(f"%LINK-5-CHANGED: Interface {name}, changed state to administratively down")
            messages.append(f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {name}, changed state to down")
        elif intf.up:
            messages.append(f"%LINK-3-UPDOWN: Interface {name}, changed state to up")
            messages.append(f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {name}, changed state to up")
    return messages
