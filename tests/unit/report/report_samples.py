"""Synthetic JUnit files in the shape the pkilab plugin writes (xunit2 + properties), and a testbed.

The shapes follow the contract in docs/reports.md: suite properties ``testbed``,
``testbed_file``, ``device.<name>.role|platform|image``; testcase properties ``seed_section``,
``devices``, ``nodeid``; the masked device transcript of a failed test in ``system-out``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SCHEMA = Path(__file__).with_name("junit-common.xsd")

# Every secret of the testbed below; none may appear under a reports directory.
TESTBED_SECRETS = (
    "Tb-Login-Secret1",
    "Tb-Enable-Secret2",
    "Ca-Login-Secret3",
    "Psk-Wrong-Guess4",
    "Export-Pass5",
    "Challenge-Pw6",
    "4321987",
)
# Secrets of the seed's procedures, found in transcripts only by their IOS context.
SEED_SECRETS = ("bigsecret", "cisco123")

TESTBED_YAML = """\
testbed:
  name: podA
  credentials:
    default: {username: admin, password: Tb-Login-Secret1}
    enable: {password: Tb-Enable-Secret2}
devices:
  CA:
    os: ios
    type: router
    credentials:
      default: {username: admin, password: Ca-Login-Secret3}
    custom: {role: ca}
  HE:
    os: ios
    type: router
    credentials:
      default: {username: admin, password: 4321987}
    custom: {role: headend}
custom:
  pki:
    isakmp_key: Psk-Wrong-Guess4
    key_export_passphrase: Export-Pass5
    challenge_password: Challenge-Pw6
    key_label: ese-ios-ca
"""

# A transcript of a failed test that leaks every secret, as a careless plugin would.
LEAKY_TRANSCRIPT = """\
HE#configure terminal
HE(config)#crypto isakmp key bigsecret address 66.66.66.2
HE(config)#crypto isakmp key Psk-Wrong-Guess4 address 66.66.66.3
HE(config)#end
CA#crypto key export rsa ese-ios-ca pem url nvram: 3des cisco123
% Key name: ese-ios-ca
CA#crypto pki enroll ese-ios-ca
% Create a challenge password. You will need to verbally provide this
Password: Challenge-Pw6
Re-enter password: Challenge-Pw6
login: admin / Tb-Login-Secret1, enable Tb-Enable-Secret2, CA Ca-Login-Secret3, HE 4321987
export passphrase Export-Pass5
"""


@dataclass(frozen=True)
class Case:
    """One ``<testcase>``."""

    name: str
    classname: str = "suites.test_enroll"
    time: float = 0.5
    outcome: str = "passed"  # passed, failed, error, skipped
    message: str = ""
    text: str = ""
    system_out: str = ""
    props: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def of(
        nodeid: str,
        outcome: str = "passed",
        devices: str = "CA,HE",
        seed_section: str | None = None,
        **kw: object,
    ) -> Case:
        """A testcase named as pytest names ``nodeid``, with the plugin's properties."""
        path, _, rest = nodeid.partition("::")
        classname = path.removesuffix(".py").replace("/", ".")
        props = [("nodeid", nodeid)]
        if devices:
            props.append(("devices", devices))
        if seed_section:
            props.append(("seed_section", seed_section))
        return Case(name=rest, classname=classname, outcome=outcome, props=tuple(props), **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Suite:
    """One ``<testsuite>`` with the plugin's suite properties."""

    cases: tuple[Case, ...]
    testbed: str | None = "podA"
    images: dict[str, str] = field(default_factory=lambda: {"CA": "15.4(3)M2", "HE": "15.4(3)M2"})
    roles: dict[str, str] = field(default_factory=lambda: {"CA": "ca", "HE": "headend"})
    timestamp: str = "2026-11-27T10:00:00"


def junit_text(*suites: Suite) -> str:
    """Return a JUnit file holding ``suites``."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<testsuites name="pytest tests">']
    for suite in suites:
        failures = sum(c.outcome == "failed" for c in suite.cases)
        errors = sum(c.outcome == "error" for c in suite.cases)
        skipped = sum(c.outcome == "skipped" for c in suite.cases)
        parts.append(
            f'<testsuite name="pytest" errors="{errors}" failures="{failures}" skipped="{skipped}" '
            f'tests="{len(suite.cases)}" time="{sum(c.time for c in suite.cases):.3f}" '
            f'timestamp="{suite.timestamp}" hostname="ci">'
        )
        props = []
        if suite.testbed:
            props += [("testbed", suite.testbed), ("testbed_file", f"testbeds/{suite.testbed}.yaml")]
        for device, image in suite.images.items():
            props += [
                (f"device.{device}.role", suite.roles.get(device, "")),
                (f"device.{device}.platform", "ISR4451"),
                (f"device.{device}.image", image),
            ]
        if props:
            parts.append(_properties(props))
        parts += [_case(c) for c in suite.cases]
        parts.append("</testsuite>")
    parts.append("</testsuites>")
    return "\n".join(parts) + "\n"


def _properties(props: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    items = "".join(f"<property name={quoteattr(n)} value={quoteattr(v)} />" for n, v in props)
    return f"<properties>{items}</properties>"


def _case(case: Case) -> str:
    body = _properties(case.props) if case.props else ""
    tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(case.outcome)
    if tag:
        body += f"<{tag} message={quoteattr(case.message)}>{escape(case.text)}</{tag}>"
    if case.system_out:
        body += f"<system-out>{escape(case.system_out)}</system-out>"
    return (
        f"<testcase classname={quoteattr(case.classname)} name={quoteattr(case.name)} "
        f'time="{case.time:.3f}">{body}</testcase>'
    )


def write(path: Path, *suites: Suite) -> Path:
    """Write a JUnit file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_text(*suites), encoding="utf-8")
    return path


def leaks(directory: Path, secrets: tuple[str, ...]) -> list[str]:
    """Return ``file: secret`` for every secret found in any file under ``directory``.

    Each secret is also searched in the forms an XML, HTML or JSON writer could give it.
    """
    found = []
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files, f"nothing written under {directory}"
    for path in files:
        data = path.read_bytes().decode("utf-8", errors="replace")
        for secret in secrets:
            forms = {secret, escape(secret), quoteattr(secret)[1:-1], secret.replace('"', '\\"')}
            if any(form in data for form in forms):
                found.append(f"{path.name}: {secret}")
    return found
