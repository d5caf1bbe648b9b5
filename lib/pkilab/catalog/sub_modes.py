"""The catalog's commands of configuration sub-modes, a section per mode; ``end`` and ``exit`` of every mode."""

from __future__ import annotations

from pkilab.catalog.command import CONFIG_MODES, Command

CONFIG_END = Command("end", modes=CONFIG_MODES)
CONFIG_EXIT = Command("exit", modes=CONFIG_MODES)

# ---- config-if ----
IF_CRYPTO_MAP = Command("crypto map tag:WORD", modes=("config-if",))
IF_DESCRIPTION = Command("description LINE", modes=("config-if",))
IF_DUPLEX_SPEED = Command("{duplex | speed} WORD", modes=("config-if",))
IF_IP_ADDRESS = Command("ip address A.B.C.D mask:A.B.C.D", modes=("config-if",))
IF_NO_CRYPTO_MAP = Command("no crypto map [tag:WORD]", modes=("config-if",))
IF_NO_DESCRIPTION = Command("no description", modes=("config-if",))
IF_NO_IP_ADDRESS = Command("no ip address [A.B.C.D] [mask:A.B.C.D]", modes=("config-if",))
IF_NO_SHUTDOWN = Command("no shutdown", modes=("config-if",))
IF_SHUTDOWN = Command("shutdown", modes=("config-if",))

# ---- config-line ----
LINE_ACCESS_CLASS = Command("access-class acl:WORD {in | out} [LINE]", modes=("config-line",))
LINE_EXEC_TIMEOUT = Command("exec-timeout minutes:<0-35791> [seconds:<0-2147483>]", modes=("config-line",))
LINE_HISTORY_SIZE = Command("history size size:<0-256>", modes=("config-line",))
LINE_LENGTH_WIDTH = Command("{length | width} size:<0-512>", modes=("config-line",))
LINE_LOGGING_SYNCHRONOUS = Command("logging synchronous [LINE]", modes=("config-line",))
LINE_LOGIN = Command("login [{local | authentication list:WORD}]", modes=("config-line",))
LINE_NO_SETTING = Command(
    "no {exec-timeout | logging | login | transport | privilege | length | width} [LINE]",
    "no {history | session-timeout | access-class | stopbits | password} [LINE]",
    modes=("config-line",),
)
LINE_PASSWORD = Command("password [type:<0-7>] value:WORD", modes=("config-line",))
LINE_PRIVILEGE_LEVEL = Command("privilege level level:<0-15>", modes=("config-line",))
LINE_SESSION_TIMEOUT = Command("session-timeout minutes:<0-35791> [LINE]", modes=("config-line",))
LINE_STOPBITS = Command("stopbits bits:WORD", modes=("config-line",))
LINE_TRANSPORT = Command("transport {input | output | preferred} LINE", modes=("config-line",))

# ---- config-ext-nacl ----
ACL_ENTRY = Command(
    "[seq:<1-2147483647>] {permit | deny} proto:WORD {any | host sh:A.B.C.D | snet:A.B.C.D swild:A.B.C.D}"
    " {any | host dh:A.B.C.D | dnet:A.B.C.D dwild:A.B.C.D} [log]",
    modes=("config-ext-nacl",),
)
ACL_NO = Command("no seq:<1-2147483647>", modes=("config-ext-nacl",))
ACL_REMARK = Command("remark LINE", modes=("config-ext-nacl",))

# ---- ca-trustpoint ----
TP_AUTO_ENROLL = Command("auto-enroll [percent:<1-100>] [regenerate]", modes=("ca-trustpoint",))
TP_ENROLLMENT_MODE_RA = Command("enrollment mode ra", modes=("ca-trustpoint",))
TP_ENROLLMENT_TERMINAL = Command("enrollment terminal [pem]", modes=("ca-trustpoint",))
TP_ENROLLMENT_URL = Command("enrollment url url:WORD", modes=("ca-trustpoint",))
TP_FQDN = Command("fqdn name:WORD", modes=("ca-trustpoint",))
TP_IP_ADDRESS = Command("ip-address {none | A.B.C.D | IF}", modes=("ca-trustpoint",))
TP_KEPT = Command("{crl | usage | password | hash} LINE", modes=("ca-trustpoint",))
TP_NO_AUTO_ENROLL = Command("no auto-enroll [LINE]", modes=("ca-trustpoint",))
TP_NO_ENROLLMENT = Command("no enrollment {url | terminal | mode} [LINE]", modes=("ca-trustpoint",))
TP_REVOCATION_CHECK = Command("revocation-check {crl | none} [none]", modes=("ca-trustpoint",))
TP_RSAKEYPAIR = Command("rsakeypair label:WORD [LINE]", modes=("ca-trustpoint",))
TP_SERIAL_NUMBER = Command("serial-number [none]", modes=("ca-trustpoint",))
TP_SOURCE_INTERFACE = Command("source interface IF", modes=("ca-trustpoint",))
TP_SUBJECT_NAME = Command("subject-name LINE", modes=("ca-trustpoint",))

# ---- config-cert-chain ----
CHAIN_CERTIFICATE = Command("certificate [ca] serial:HEX path:WORD", modes=("config-cert-chain",))

# ---- cs-server ----
CS_CDP_URL = Command("cdp-url url:WORD", modes=("cs-server",))
CS_DATABASE_LEVEL = Command("database level {minimal | names | complete}", modes=("cs-server",))
CS_DATABASE_URL = Command("database url url:WORD", modes=("cs-server",))
CS_GRANT = Command("grant {auto | none}", modes=("cs-server",))
CS_HASH = Command("hash {md5 | sha1 | sha256 | sha384 | sha512}", modes=("cs-server",))
CS_ISSUER_NAME = Command("issuer-name dn:LINE", modes=("cs-server",))
CS_KEPT = Command("database archive LINE", "no database archive", "auto-rollover [LINE]", modes=("cs-server",))
CS_LIFETIME_CA_CERTIFICATE = Command("lifetime ca-certificate days:<1-1825>", modes=("cs-server",))
CS_LIFETIME_CERTIFICATE = Command("lifetime certificate days:<1-1825>", modes=("cs-server",))
CS_LIFETIME_CRL = Command("lifetime crl hours:<1-336>", modes=("cs-server",))
CS_LIFETIME_ENROLLMENT_REQUEST = Command("lifetime enrollment-request hours:<1-1000>", modes=("cs-server",))
CS_NO_CDP_URL = Command("no cdp-url [LINE]", modes=("cs-server",))
CS_NO_DATABASE_LEVEL = Command("no database level [LINE]", modes=("cs-server",))
CS_NO_DATABASE_URL = Command("no database url [LINE]", modes=("cs-server",))
CS_NO_GRANT = Command("no grant [{auto | none}]", modes=("cs-server",))
CS_NO_HASH = Command("no hash [LINE]", modes=("cs-server",))
CS_NO_ISSUER_NAME = Command("no issuer-name [LINE]", modes=("cs-server",))
CS_NO_LIFETIME = Command(
    "no lifetime {crl | certificate | ca-certificate | enrollment-request} [LINE]", modes=("cs-server",)
)
CS_NO_SHUTDOWN = Command("no shutdown", modes=("cs-server",))
CS_SHUTDOWN = Command("shutdown", modes=("cs-server",))

# ---- config-isakmp ----
ISAKMP_AUTHENTICATION = Command("authentication method:WORD", modes=("config-isakmp",))
ISAKMP_ENCRYPTION = Command("encryption alg:WORD [bits:<128-256>]", modes=("config-isakmp",))
ISAKMP_GROUP = Command("group <1-24>", modes=("config-isakmp",))
ISAKMP_HASH = Command("hash alg:WORD", modes=("config-isakmp",))
ISAKMP_LIFETIME = Command("lifetime <60-86400>", modes=("config-isakmp",))
ISAKMP_NO = Command("no {encryption | hash | authentication | group | lifetime} [LINE]", modes=("config-isakmp",))

# ---- cfg-crypto-trans ----
TRANSFORM_MODE = Command("mode {tunnel | transport}", modes=("cfg-crypto-trans",))

# ---- config-crypto-map ----
MAP_DESCRIPTION = Command("description LINE", modes=("config-crypto-map",))
MAP_MATCH_ADDRESS = Command("match address acl:WORD", modes=("config-crypto-map",))
MAP_NO = Command("no {description | qos | reverse-route | match | set} [LINE]", modes=("config-crypto-map",))
MAP_NO_SET_PEER = Command("no set peer A.B.C.D", modes=("config-crypto-map",))
MAP_QOS_PRE_CLASSIFY = Command("qos pre-classify", modes=("config-crypto-map",))
MAP_REVERSE_ROUTE = Command("reverse-route [static]", modes=("config-crypto-map",))
MAP_SET_PEER = Command("set peer A.B.C.D [default]", modes=("config-crypto-map",))
MAP_SET_PFS = Command("set pfs [group:WORD]", modes=("config-crypto-map",))
MAP_SET_SA_LIFETIME = Command(
    "set security-association lifetime {seconds secs:<120-86400> | kilobytes kb:<2560-4194303>}",
    modes=("config-crypto-map",),
)
MAP_SET_TRANSFORM_SET = Command("set transform-set LINE", modes=("config-crypto-map",))
