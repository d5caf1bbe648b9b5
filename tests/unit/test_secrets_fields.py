"""Masking by field: every kind of secret is masked where it stands, ordinary words are left alone."""

import pytest

from pkilab.secrets import MASK, Masker, is_secret_field

# (kind, text holding the secret S3cr3t-Val in its field). No value is registered: the field alone
# must give it away.
IN_FIELD = [
    ("login password", "HE(config)#username admin privilege 15 secret 0 S3cr3t-Val"),
    ("login password", "username admin password S3cr3t-Val"),
    ("line password", "HE(config-line)#password 0 S3cr3t-Val"),
    ("enable secret", "HE(config)#enable secret S3cr3t-Val"),
    ("enable password", "enable password level 15 7 S3cr3t-Val"),
    ("PSK", "HE(config)#crypto isakmp key S3cr3t-Val address 66.66.66.2"),
    ("PSK", "crypto isakmp key 6 S3cr3t-Val hostname ese-branch.ese.cisco.com"),
    ("PSK", "HE(config)#no crypto isakmp key S3cr3t-Val address 66.66.66.2"),
    ("PSK in a keyring", "HE(conf-keyring)#pre-shared-key address 66.66.66.2 key S3cr3t-Val"),
    ("PSK in a keyring", " pre-shared-key local S3cr3t-Val"),
    ("export passphrase", "CA#crypto key export rsa ese-ios-ca pem url nvram: 3des S3cr3t-Val"),
    ("export passphrase", "crypto pki export ese-ios-ca pem terminal 3des S3cr3t-Val"),
    ("export passphrase", "crypto pki export tp pkcs12 tftp://10.1.1.1/tp.p12 password S3cr3t-Val"),
    ("import passphrase", "CA#crypto key import rsa ese-ios-ca pem url nvram: S3cr3t-Val"),
    ("import passphrase", "crypto key import rsa k usage-keys pem terminal S3cr3t-Val"),
    ("challenge password", "BR(ca-trustpoint)#password S3cr3t-Val"),
    ("challenge password, echoed", "Password: S3cr3t-Val\nRe-enter password: S3cr3t-Val"),
    ("one-time password", "One-time enrollment password: S3cr3t-Val\nValidity period: 60 minutes"),
    ("URL password", "copy nvram:ca.ser ftp://admin:S3cr3t-Val@10.59.138.13/ca.ser"),
    ("CA passphrase, Python", '        Answer(r"Password:", ca_passphrase="S3cr3t-Val")'),
    ("passphrase, Python", 'PASSPHRASE = "S3cr3t-Val"'),
    ("PSK, repr", "VpnSettings(psk='S3cr3t-Val', isakmp_policy=10)"),
    ("challenge password, dict", "{'challenge_password': 'S3cr3t-Val', 'name': 'tp'}"),
    ("one-time password, Python", "E       assert otp == 'S3cr3t-Val'"),
    ("login password, YAML", "    default: {username: admin, password: S3cr3t-Val}"),
    ("enable password, YAML", "      password: S3cr3t-Val"),
    ("key-export passphrase, YAML", "  key_export_passphrase: 'S3cr3t-Val'"),
]

# Text with no secret: masking must not change a word of it.
ORDINARY = [
    "a valid one-time password is granted without waiting",
    "AssertionError: wrong passphrase accepted",
    "the right passphrase imports the key pair",
    "crypto isakmp key missing from the running configuration",
    "enable secret is stored hashed",
    "password generate failed",
    "CA#crypto pki server ese-ios-ca password generate",
    "% Create a challenge password. You will need to verbally provide this",
    "secret_shown: false",
    'Answer(r"Password:", reply, secret=True)',
    "ip domain name ese.cisco.com",
    "message = 'SA came up'",
    "bypass: 'granted'",
]


@pytest.mark.parametrize(("kind", "text"), IN_FIELD, ids=[f"{k}-{i}" for i, (k, _) in enumerate(IN_FIELD)])
def test_each_kind_of_secret_is_masked_by_its_field(kind: str, text: str) -> None:
    masked = Masker().mask(text)
    assert "S3cr3t-Val" not in masked, f"{kind}: {masked!r}"
    # Only the secret went: the text around it is intact.
    assert masked.replace(MASK, "S3cr3t-Val") == text


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_words_are_left_alone(text: str) -> None:
    assert Masker(["cisco123", "bigsecret"]).mask(text) == text


def test_a_known_value_is_masked_as_a_token_not_inside_longer_words() -> None:
    masker = Masker(["ant", "bigsecret", "4321987"])
    assert masker.mask("granted: elephant ant") == f"granted: elephant {MASK}"
    call = "pki.import_keys(ca, 'ese-ios-ca', 'bigsecret')"
    assert masker.mask(call) == call.replace("bigsecret", MASK)
    assert masker.mask("HE login 4321987, not 943219870") == f"HE login {MASK}, not 943219870"


def test_a_secret_containing_another_is_masked_whole() -> None:
    assert Masker(["Psk", "Psk-Long-1"]).mask("key Psk-Long-1 / Psk") == f"key {MASK} / {MASK}"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("enable_password", True),
        ("key_export_passphrase", True),
        ("PSK", True),
        ("isakmp_key", True),
        ("pre_shared_key", True),
        ("challengePassword", True),
        ("one_time_password", True),
        ("otp", True),
        ("bypass", False),
        ("compass", False),
        ("passive", False),
        ("key_label", False),
        ("message", False),
        ("username", False),
    ],
)
def test_secret_fields_are_recognised_by_the_words_of_their_names(name: str, secret: bool) -> None:
    assert is_secret_field(name) is secret
