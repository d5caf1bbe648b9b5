"""Crypto configuration of the simulated router: the seed's headend and branch configs as typed,
rendered back in the running configuration, replayed by a reload, and the configuration views."""

from pkilab.parsers import parse
from unit.sim.simkit import Cli, OfflineLab, make_spec

HEADEND = """crypto isakmp policy 10
 encr 3des
 group 2
crypto isakmp policy 20
 encr 3des
 authentication pre-share
 group 2
crypto isakmp key bigsecret address 66.66.66.2
crypto isakmp keepalive 10
crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac
no crypto ipsec nat-transparency udp-encaps
crypto dynamic-map dmap 10
 set transform-set vpn-test
 reverse-route
crypto map dynamic-map 10 ipsec-isakmp dynamic dmap
interface FastEthernet0/0
 description OUTSIDE (toward Internet)
 crypto map dynamic-map
"""

BRANCH = """crypto isakmp policy 10
 encr 3des
 group 2
crypto isakmp policy 20
 encr 3des
 authentication pre-share
 group 2
crypto isakmp key bigsecret address 66.66.66.1
crypto isakmp keepalive 10
crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac
no crypto ipsec nat-transparency udp-encaps
crypto map test 10 ipsec-isakmp
 description Calls the dynamic map on the crypto HE box(es)
 set peer 66.66.66.1
 set transform-set vpn-test
 match address CryptoMapACL
 qos pre-classify
interface FastEthernet0/0
 crypto map test
ip access-list extended CryptoMapACL
 permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255
 deny ip any any
 remark This ACL is a filter of which traffic is for the crypto ipsec tunnel
"""


def _type(cli: Cli, text: str) -> dict[str, str]:
    cli("configure terminal")
    outputs: dict[str, str] = {}
    for line in text.splitlines():
        out = cli(line.strip())
        if "%" in out and "NOTE" not in out:
            outputs[line] = out
    cli("end")
    return outputs


def _block(running: str, head: str) -> list[str]:
    lines = running.splitlines()
    start = lines.index(head)
    block = [head]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


def test_headend_config_accepted_and_rendered() -> None:
    lab = OfflineLab(make_spec("he", "66.66.66.1/24", "outside"))
    cli = lab.cli("he")
    assert _type(cli, HEADEND) == {}
    run = cli("show running-config")
    assert _block(run, "crypto isakmp policy 10") == ["crypto isakmp policy 10", " encr 3des", " group 2"]
    assert _block(run, "crypto isakmp policy 20") == [
        "crypto isakmp policy 20",
        " encr 3des",
        " authentication pre-share",
        " group 2",
    ]
    assert "crypto isakmp key bigsecret address 66.66.66.2" in run
    assert "crypto isakmp keepalive 10" in run
    assert _block(run, "crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac")[1:] == [" mode tunnel"]
    assert "no crypto ipsec nat-transparency udp-encaps" in run
    assert _block(run, "crypto dynamic-map dmap 10") == [
        "crypto dynamic-map dmap 10",
        " set transform-set vpn-test",
        " reverse-route",
    ]
    assert "crypto map dynamic-map 10 ipsec-isakmp dynamic dmap" in run
    assert " crypto map dynamic-map" in _block(run, "interface FastEthernet0/0")
    # isakmp before ipsec before the maps, as IOS prints them
    assert (
        run.index("crypto isakmp policy 10")
        < run.index("crypto ipsec transform-set")
        < run.index("crypto dynamic-map")
        < run.index("crypto map dynamic-map 10")
    )


def test_branch_config_survives_reload() -> None:
    lab = OfflineLab(make_spec("br", "66.66.66.2/24", "outside"))
    cli = lab.cli("br")
    assert _type(cli, BRANCH) == {}
    before = cli("show running-config")
    router = lab.routers["br"]
    text = "\n".join(router.running_config())
    rejected = router.boot(text)  # the startup config is replayed line by line
    # boot-start/end-marker belong to the System feature, which does not take them back yet.
    assert [line for line in rejected if not line.startswith("boot-")] == []
    after = lab.cli("br")("show running-config")

    def crypto(run: str) -> list[str]:
        return [
            ln
            for ln in run.splitlines()
            if "crypto" in ln or ln.startswith((" set", " match", " qos", " description Calls"))
        ]

    assert crypto(after) == crypto(before)
    assert _block(after, "crypto map test 10 ipsec-isakmp") == [
        "crypto map test 10 ipsec-isakmp",
        " description Calls the dynamic map on the crypto HE box(es)",
        " set peer 66.66.66.1",
        " set transform-set vpn-test",
        " match address CryptoMapACL",
        " qos pre-classify",
    ]


def test_policy_values_checked_and_defaults() -> None:
    lab = OfflineLab(make_spec())
    cli = lab.cli()
    cli("configure terminal")
    cli("crypto isakmp policy 5")
    assert "Invalid input" in cli("group 3")
    assert "Invalid input" in cli("encryption blowfish")
    assert "Invalid input" in cli("encryption 3des 256")
    assert cli("encryption aes 256").count("%") == 0
    cli("hash md5")
    cli("lifetime 3600")
    cli("end")
    run = cli("show running-config")
    assert _block(run, "crypto isakmp policy 5") == [
        "crypto isakmp policy 5",
        " encr aes 256",
        " hash md5",
        " lifetime 3600",
    ]
    shown = cli("show crypto isakmp policy")
    assert "Protection suite of priority 5" in shown
    assert "AES - Advanced Encryption Standard (256 bit keys)." in shown
    assert "Rivest-Shamir-Adleman Signature" in shown  # authentication rsa-sig when omitted
    assert "#1 (768 bit)" in shown
    cli("configure terminal")
    cli("crypto isakmp policy 5")
    cli("no hash")
    cli("end")
    assert " hash md5" not in cli("show running-config")


def test_transform_set_and_key_removal() -> None:
    lab = OfflineLab(make_spec())
    cli = lab.cli()
    cli("configure terminal")
    assert "Invalid input" in cli("crypto ipsec transform-set bad esp-foo esp-sha-hmac")
    cli("crypto ipsec transform-set strong esp-aes 256 esp-md5-hmac")
    cli("exit")
    cli("crypto isakmp key k1 address 10.0.0.0 255.0.0.0")
    assert "not found" in cli("no crypto isakmp key other address 10.0.0.0 255.0.0.0")
    cli("end")
    run = cli("show running-config")
    assert "crypto ipsec transform-set strong esp-aes 256 esp-md5-hmac" in run
    assert "crypto isakmp key k1 address 10.0.0.0 255.0.0.0" in run
    cli("configure terminal")
    cli("no crypto isakmp key k1 address 10.0.0.0 255.0.0.0")
    cli("end")
    assert "crypto isakmp key" not in cli("show running-config")


def test_show_crypto_map_static_and_dynamic() -> None:
    lab = OfflineLab(make_spec("br", "66.66.66.2/24", "outside"))
    cli = lab.cli("br")
    _type(cli, BRANCH)
    shown = cli("show crypto map")
    assert 'Crypto Map IPv4 "test" 10 ipsec-isakmp' in shown
    assert "\tPeer = 66.66.66.1" in shown
    assert "\t    access-list CryptoMapACL permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255" in shown
    assert "\t\tvpn-test:  { esp-3des esp-sha-hmac  } , " in shown
    assert "\tQOS pre-classification" in shown
    assert "\t\tFastEthernet0/0" in shown


def test_empty_show_outputs_parse() -> None:
    lab = OfflineLab(make_spec("br", "66.66.66.2/24", "outside"))
    cli = lab.cli("br")
    _type(cli, BRANCH)
    for command in (
        "show crypto isakmp sa",
        "show crypto isakmp sa detail",
        "show crypto ipsec sa",
        "show crypto engine connections active",
        "show crypto session",
    ):
        out = cli(command).rsplit("\n", 1)[0]
        parsed = parse(command, out)
        assert parsed is not None
    # A static map with no SA yet: IOS shows the flow with zero counters.
    flows = parse("show crypto ipsec sa", cli("show crypto ipsec sa").rsplit("\n", 1)[0]).flows
    assert [(f.peer, f.local_ident, f.pkts_encaps) for f in flows] == [
        ("66.66.66.1", "10.113.0.0/255.255.255.0/0/0", 0)
    ]
    sessions = parse("show crypto session", cli("show crypto session").rsplit("\n", 1)[0]).sessions
    assert [(s.peer, s.status) for s in sessions] == [("66.66.66.1", "DOWN")]


def test_show_dynamic_map_and_keys() -> None:
    lab = OfflineLab(make_spec("he", "66.66.66.1/24", "outside"))
    cli = lab.cli("he")
    _type(cli, HEADEND)
    shown = cli("show crypto dynamic-map")
    assert 'Crypto Map Template"dmap" 10' in shown
    assert "\t\tvpn-test:  { esp-3des esp-sha-hmac  } , " in shown
    assert "\tReverse Route Injection Enabled" in shown
    keys = cli("show crypto isakmp key").splitlines()
    assert keys[2].split() == ["default", "66.66.66.2", "bigsecret"]


def test_show_transform_sets_and_lifetime() -> None:
    lab = OfflineLab(make_spec())
    cli = lab.cli()
    _type(
        cli,
        "crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac\n"
        "crypto ipsec security-association lifetime seconds 1800",
    )
    assert "Transform set vpn-test: { esp-3des esp-sha-hmac  } " in cli("show crypto ipsec transform-set")
    assert "will negotiate = { Tunnel,  }, " in cli("show crypto ipsec transform-set vpn-test")
    assert "Security association lifetime: 4608000 kilobytes/1800 seconds" in cli(
        "show crypto ipsec security-association lifetime"
    )
