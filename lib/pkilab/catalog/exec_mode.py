"""The catalog's exec commands: what ``show``, ``clear``, ``crypto …`` and the rest type at ``#`` or ``>``.

Some are also valid in global configuration mode, as IOS takes them there (the seed types
``crypto ca authenticate`` at ``(config)#``).
"""

from __future__ import annotations

from itertools import permutations

from pkilab.catalog.command import EXEC, Command

# IOS takes the options of `crypto key generate rsa` in any order.
_KEYGEN_OPTIONS = ("[label label:WORD]", "[modulus modulus:WORD]", "[exportable]")

CLEAR_CRYPTO_ISAKMP = Command("clear crypto isakmp [conn:<1-65535>]", modes=(EXEC,))
CLEAR_CRYPTO_SA = Command("clear crypto sa [peer A.B.C.D]", modes=(EXEC,))
CLEAR_LOGGING = Command("clear logging", modes=(EXEC,))
CLOCK_SET = Command(
    "clock set TIME day:<1-31> MONTH year:<1993-2035>",
    "clock set TIME MONTH day:<1-31> year:<1993-2035>",
    modes=(EXEC,),
)
CONFIGURE = Command("configure [terminal]", modes=(EXEC,))
COPY = Command("copy src:WORD dst:WORD", modes=(EXEC,))
CRYPTO_KEY_EXPORT_RSA = Command(
    "crypto key export rsa label:WORD pem {terminal | url url:WORD} {3des | des} passphrase:LINE",
    modes=(EXEC, "config"),
)
CRYPTO_KEY_GENERATE_RSA = Command(
    *("crypto key generate rsa [general-keys] " + " ".join(order) for order in permutations(_KEYGEN_OPTIONS)),
    modes=(EXEC, "config"),
)
CRYPTO_KEY_IMPORT_RSA = Command(
    "crypto key import rsa label:WORD [general-purpose] [exportable] pem {terminal | url url:WORD} passphrase:LINE",
    modes=(EXEC, "config"),
)
CRYPTO_KEY_ZEROIZE_RSA = Command("crypto key zeroize rsa [label:WORD]", modes=(EXEC, "config"))
CRYPTO_PKI_AUTHENTICATE = Command("crypto {pki | ca} authenticate name:WORD", modes=(EXEC, "config"))
CRYPTO_PKI_CRL_REQUEST = Command("crypto {pki | ca} crl request name:WORD", modes=(EXEC, "config"))
CRYPTO_PKI_ENROLL = Command("crypto {pki | ca} enroll name:WORD", modes=(EXEC, "config"))
CRYPTO_PKI_EXPORT = Command(
    "crypto {pki | ca} export name:WORD pem terminal {3des | des} passphrase:WORD", modes=(EXEC, "config")
)
CRYPTO_PKI_IMPORT = Command("crypto {pki | ca} import name:WORD certificate", modes=(EXEC, "config"))
CRYPTO_PKI_SERVER_GRANT = Command(
    "crypto {pki | ca} server name:WORD grant {id:<1-999> | all}",
    modes=(EXEC,),
    help={"<1-999>": "Transaction ID", "all": "all pending requests"},
)
CRYPTO_PKI_SERVER_PASSWORD_GENERATE = Command(
    "crypto {pki | ca} server name:WORD password generate [minutes:<1-1440>]", modes=(EXEC,)
)
CRYPTO_PKI_SERVER_REJECT = Command(
    "crypto {pki | ca} server name:WORD reject {id:<1-999> | all}",
    modes=(EXEC,),
    help={"<1-999>": "Transaction ID", "all": "all pending requests"},
)
CRYPTO_PKI_SERVER_REQUEST_PKCS10 = Command(
    "crypto {pki | ca} server name:WORD request pkcs10 {terminal | url url:WORD} [{base64 | pem}]", modes=(EXEC,)
)
CRYPTO_PKI_SERVER_REVOKE = Command("crypto {pki | ca} server name:WORD revoke serial:WORD", modes=(EXEC,))
DEBUG_CRYPTO = Command("debug crypto {isakmp | ipsec | pki | engine} [LINE]", modes=(EXEC,))
DELETE = Command("delete [/force] path:WORD", modes=(EXEC,))
DIR = Command("dir [fs:WORD]", modes=(EXEC,))
DISABLE = Command("disable", modes=(EXEC,), level=1)
ENABLE = Command("enable", modes=(EXEC,), level=1)
ERASE_STARTUP = Command("write erase", "erase {startup-config | nvram:}", modes=(EXEC,))
EXIT_EXEC = Command("{exit | logout | quit}", modes=(EXEC,), level=1)
MORE = Command("more path:WORD", modes=(EXEC,))
NO_DEBUG_ALL = Command("{no debug | undebug} all", modes=(EXEC,))
NO_DEBUG_CRYPTO = Command("{no debug | undebug} crypto {isakmp | ipsec | pki | engine} [LINE]", modes=(EXEC,))
PING = Command(
    "ping [ip] target:WORD [source src:WORD] [repeat count:<1-2147483647>]"
    " [size size:<36-18024>] [timeout secs:<0-3600>]",
    modes=(EXEC,),
    level=1,
)
RELOAD = Command("reload", modes=(EXEC,))
SHOW_ACCESS_LISTS = Command("show {access-lists | ip access-lists} [name:WORD]", modes=(EXEC,), level=1)
SHOW_CLOCK = Command("show clock [detail]", modes=(EXEC,), level=1)
SHOW_CRYPTO_DYNAMIC_MAP = Command("show crypto dynamic-map [tag tag:WORD]", modes=(EXEC,), level=1)
SHOW_CRYPTO_ELI = Command("show crypto eli", modes=(EXEC,), level=1)
SHOW_CRYPTO_ENGINE_CONNECTIONS = Command("show crypto engine connections [active]", modes=(EXEC,), level=1)
SHOW_CRYPTO_IPSEC_SA = Command(
    "show crypto ipsec sa [{peer A.B.C.D | interface IF | map tag:WORD}] [detail]", modes=(EXEC,), level=1
)
SHOW_CRYPTO_IPSEC_SA_LIFETIME = Command("show crypto ipsec security-association lifetime", modes=(EXEC,), level=1)
SHOW_CRYPTO_IPSEC_TRANSFORM_SET = Command("show crypto ipsec transform-set [name:WORD]", modes=(EXEC,), level=1)
SHOW_CRYPTO_ISAKMP_KEY = Command("show crypto isakmp key", modes=(EXEC,), level=1)
SHOW_CRYPTO_ISAKMP_POLICY = Command("show crypto isakmp policy", modes=(EXEC,), level=1)
SHOW_CRYPTO_ISAKMP_SA = Command("show crypto isakmp sa [{active | standby}]", modes=(EXEC,), level=1)
SHOW_CRYPTO_ISAKMP_SA_DETAIL = Command("show crypto isakmp sa [{active | standby}] detail", modes=(EXEC,), level=1)
SHOW_CRYPTO_KEY_MYPUBKEY = Command("show crypto key mypubkey {rsa | ec | all} [label:WORD]", modes=(EXEC,))
SHOW_CRYPTO_MAP = Command("show crypto map [tag tag:WORD]", modes=(EXEC,), level=1)
SHOW_CRYPTO_PKI_CERTIFICATES = Command(
    "show crypto {pki | ca} certificates [verbose] [name:WORD]", modes=(EXEC,), level=1
)
SHOW_CRYPTO_PKI_CRLS = Command("show crypto {pki | ca} crls", modes=(EXEC,), level=1)
SHOW_CRYPTO_PKI_SERVER = Command("show crypto {pki | ca} server [name:WORD]", modes=(EXEC,))
SHOW_CRYPTO_PKI_SERVER_CERTIFICATES = Command("show crypto {pki | ca} server name:WORD certificates", modes=(EXEC,))
SHOW_CRYPTO_PKI_SERVER_CRL = Command(
    "show crypto {pki | ca} server name:WORD crl", "crypto {pki | ca} server name:WORD info crl", modes=(EXEC,)
)
SHOW_CRYPTO_PKI_SERVER_REQUESTS = Command(
    "show crypto {pki | ca} server name:WORD requests",
    "crypto {pki | ca} server name:WORD info requests",
    modes=(EXEC,),
)
SHOW_CRYPTO_PKI_TIMERS = Command("show crypto {pki | ca} timers [detail]", modes=(EXEC,), level=1)
SHOW_CRYPTO_PKI_TRUSTPOINTS = Command("show crypto {pki | ca} trustpoints [name:WORD]", modes=(EXEC,), level=1)
SHOW_CRYPTO_PKI_TRUSTPOINTS_STATUS = Command(
    "show crypto {pki | ca} trustpoints [name:WORD] status", modes=(EXEC,), level=1
)
SHOW_CRYPTO_SESSION = Command("show crypto session [remote remote:A.B.C.D] [detail]", modes=(EXEC,), level=1)
SHOW_DEBUGGING = Command("show debugging", modes=(EXEC,), level=1)
SHOW_IP_INTERFACE_BRIEF = Command("show ip interface brief", modes=(EXEC,), level=1)
SHOW_IP_ROUTE = Command("show ip route", modes=(EXEC,), level=1)
# `show log` is `show logging` although `show login` shares the prefix: IOS's minimum match (the
# seed types `show log` on 12.3T; Cisco's login-block guide shows `show login` on 12.3(4)T and later).
SHOW_LOGGING = Command("show log~ging", modes=(EXEC,))
SHOW_LOGIN = Command("show login", modes=(EXEC,), level=1)
SHOW_NTP_ASSOCIATIONS = Command("show ntp associations", modes=(EXEC,), level=1)
SHOW_NTP_ASSOCIATIONS_DETAIL = Command("show ntp associations detail", modes=(EXEC,), level=1)
SHOW_NTP_STATUS = Command("show ntp status", modes=(EXEC,), level=1)
SHOW_RUNNING_CONFIG = Command("show running-config", modes=(EXEC,))
SHOW_STARTUP_CONFIG = Command("show startup-config", modes=(EXEC,))
SHOW_VERSION = Command("show version", modes=(EXEC,), level=1)
TERMINAL_LENGTH = Command("terminal length <0-512>", modes=(EXEC,), level=1)
TERMINAL_MONITOR = Command("terminal monitor", modes=(EXEC,), level=1)
TERMINAL_NO_MONITOR = Command("terminal no monitor", modes=(EXEC,), level=1)
TERMINAL_WIDTH = Command("terminal width <0-512>", modes=(EXEC,), level=1)
WRITE_MEMORY = Command("write [memory]", "copy running-config startup-config", modes=(EXEC,))
