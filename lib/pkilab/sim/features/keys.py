"""RSA key pairs: ``crypto key generate|export|import|zeroize rsa`` and ``show crypto key mypubkey rsa``.

Keys live in the running state until ``write memory`` copies them into NVRAM's
private-config (:meth:`Keys.save_private`); a reload loads them back from there, so a key made
and not saved is gone after a reload, as on IOS. The private-config may hold other features'
data: the keys are one delimited block of it.

Other features use :meth:`Keys.get`, :meth:`Keys.generate`, :meth:`Keys.remove` and
:meth:`Keys.default_label`; they can register ``on_remove`` callbacks (the trustpoints drop the
certificates made for a zeroized key): this module imports no other feature but the system.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab import catalog
from pkilab.errors import PkiError
from pkilab.pki.keys import (
    ExportCipher,
    export_key_pem,
    generate_rsa_key,
    import_key_pem,
    key_data_lines,
)
from pkilab.sim.features.system import System
from pkilab.sim.filesys import FileSystemError
from pkilab.sim.interp import Ask, Await, Ctx
from pkilab.sim.router import Feature, handles

GENERAL_PURPOSE = "General Purpose Key"
PRIVATE_CONFIG = "nvram:private-config"
_BLOCK_BEGIN = "-----BEGIN PKILAB RSA KEYS-----"
_BLOCK_END = "-----END PKILAB RSA KEYS-----"
_YES = ("y", "ye", "yes")
_NO = ("n", "no")


@dataclass(frozen=True)
class KeyPair:
    """One RSA key pair of the router.

    Attributes:
        label: the key name (``Key name:``).
        private_key: the key itself.
        exportable: made or imported with ``exportable``.
        usage: ``General Purpose Key`` (the only usage the simulator makes).
        generated_at: the router's clock (UTC) when it was made or imported.
    """

    label: str
    private_key: rsa.RSAPrivateKey
    exportable: bool
    usage: str
    generated_at: dt.datetime

    @property
    def bits(self) -> int:
        """The modulus size."""
        return self.private_key.key_size


def _encode_pair(pair: KeyPair) -> str:
    der = pair.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    stamp = pair.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    flag = "exportable" if pair.exportable else "non-exportable"
    return f"key {pair.label} {flag} {stamp} {base64.b64encode(der).decode('ascii')}"


def _decode_pair(line: str) -> KeyPair | None:
    parts = line.split()
    if len(parts) != 5 or parts[0] != "key":
        return None
    try:
        key = serialization.load_der_private_key(base64.b64decode(parts[4]), password=None)
        stamp = dt.datetime.strptime(parts[3], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    if not isinstance(key, rsa.RSAPrivateKey):
        return None
    return KeyPair(parts[1], key, parts[2] == "exportable", GENERAL_PURPOSE, stamp)


def _split_private(text: str) -> tuple[str, list[str]]:
    """Split private-config text into (other content, lines of our block)."""
    start, end = text.find(_BLOCK_BEGIN), text.find(_BLOCK_END)
    if start < 0 or end < start:
        return text, []
    block = text[start + len(_BLOCK_BEGIN) : end].strip().splitlines()
    return text[:start] + text[end + len(_BLOCK_END) :].lstrip("\n"), block


def _yes_no(answer: str) -> bool | None:
    a = answer.strip().lower()
    return True if a in _YES else False if a in _NO else None


class Keys(Feature):
    """The router's RSA key pairs."""

    order = 250

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.pairs: dict[str, KeyPair] = {}
        self.saved: set[str] = set()
        #: Called with each removed key pair (the trustpoints drop the certificates made for it).
        self.on_remove: list[Callable[[KeyPair], None]] = []
        self._load_private()

    # ---- API ---------------------------------------------------------------------------
    def get(self, label: str) -> KeyPair | None:
        """The key pair named ``label``, or None."""
        return self.pairs.get(label)

    def default_label(self) -> str:
        """The name IOS gives unlabelled keys: ``hostname.domain`` (``hostname`` without a domain)."""
        domain = self.router.feature(System).domain
        return f"{self.router.hostname}.{domain}" if domain else self.router.hostname

    def generate(self, label: str, bits: int, exportable: bool) -> KeyPair:
        """Make (or replace) the key pair ``label``.

        Raises:
            PkiError: the modulus is outside IOS's range.
        """
        key = generate_rsa_key(bits)
        return self.install(label, key, exportable)

    def install(self, label: str, key: rsa.RSAPrivateKey, exportable: bool) -> KeyPair:
        """Store ``key`` as the pair ``label`` (generated or imported now)."""
        pair = KeyPair(label, key, exportable, GENERAL_PURPOSE, self.router.clock.now().replace(microsecond=0))
        self.pairs[label] = pair
        return pair

    def remove(self, label: str) -> bool:
        """Remove the key pair ``label`` and the router certificates made for it; False when there is none."""
        pair = self.pairs.pop(label, None)
        if pair is None:
            return False
        for callback in list(self.on_remove):
            callback(pair)
        return True

    # ---- NVRAM -------------------------------------------------------------------------
    def _load_private(self) -> None:
        raw = self.router.fs.read_text(PRIVATE_CONFIG) or ""
        _, block = _split_private(raw)
        for line in block:
            pair = _decode_pair(line)
            if pair is not None:
                self.pairs[pair.label] = pair
                self.saved.add(pair.label)

    def save_private(self) -> None:
        """``write memory``: keep the current key pairs in private-config (replacing the saved ones)."""
        raw = (self.router.fs.read_text(PRIVATE_CONFIG) or "").replace("\x00", "")
        other, _ = _split_private(raw)
        lines = [_encode_pair(p) for p in self.pairs.values()]
        block = "\n".join([_BLOCK_BEGIN, *lines, _BLOCK_END]) + "\n"
        self.router.fs.write(PRIVATE_CONFIG, (other + block).encode("ascii"))
        self.saved = set(self.pairs)

    # ---- crypto key generate rsa -------------------------------------------------------
    @handles(catalog.CRYPTO_KEY_GENERATE_RSA)
    def generate_cmd(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``crypto key generate rsa`` with IOS 15's dialog."""
        label = args.get("label")
        if label is None and not self.router.feature(System).domain:
            return "% Please define a domain-name first."
        label = label or self.default_label()
        exportable = bool(args.get("exportable"))
        if label in self.pairs:
            yield f"% You already have RSA keys defined named {label}.\n"
            while True:
                ok = _yes_no((yield Ask("% Do you really want to replace them? [yes/no]: ")))
                if ok is not None:
                    break
                yield "% Please answer 'yes' or 'no'.\n"
            if not ok:
                return None
        yield f"The name for the keys will be: {label}\n"
        keygen = self.router.personality.keygen
        if "modulus" in args:
            bits = self._modulus(args["modulus"])
            if bits is None:
                return f"% Invalid modulus size, must be in the range of {keygen.low} to {keygen.high}"
            yield f"% The key modulus size is {bits} bits\n"
        else:
            yield keygen.choose()
            while True:
                answer = (yield Ask(f"How many bits in the modulus [{keygen.default}]: ")).strip()
                bits = self._modulus(answer) if answer else keygen.default
                if bits is not None:
                    break
                yield f"% Invalid modulus size, must be in the range of {keygen.low} to {keygen.high}\n"
        return (yield from self.generate_dialog(label, bits, exportable, ctx.interactive))

    def generate_dialog(self, label: str, bits: int, exportable: bool, interactive: bool) -> Generator[Any, Any, str]:
        """Make the key pair, saying so in the image's words; takes the ``timing``'s key-generation time.

        Returns the line that ends the message (``[OK] …``); what comes before it is yielded.
        """
        started = time.monotonic()
        kind = "exportable" if exportable else "non-exportable"
        head, _, tail = self.router.personality.keygen.done.partition("...")
        yield head.format(bits=bits, kind=kind) + "..."
        self.generate(label, bits, exportable)
        delay = self.router.timing.keygen_seconds(bits) - (time.monotonic() - started)
        if interactive and delay > 0 and self.router.lab.network.loop is not None:
            yield Await(asyncio.sleep(delay))  # a real router's key generation time (custom.sim.timing)
        return tail.format(seconds=int(time.monotonic() - started))

    def _modulus(self, text: str) -> int | None:
        if not text.isdigit():
            return None
        bits = int(text)
        keygen = self.router.personality.keygen
        return bits if keygen.low <= bits <= keygen.high else None

    # ---- show ----------------------------------------------------------------------------
    @handles(catalog.SHOW_CRYPTO_KEY_MYPUBKEY)
    def show_mypubkey(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto key mypubkey {rsa | ec | all} [LABEL]`` in IOS 15's layout.

        XE 17 adds the size and redundancy. The simulator's key pairs are all RSA: ``ec`` lists
        none, ``all`` lists the RSA ones.
        """
        wanted = args.get("label")
        out: list[str] = []
        for pair in self.pairs.values() if not args.get("ec") else ():
            if wanted is not None and pair.label != wanted:
                continue
            storage = "private-config" if pair.label in self.saved else "not specified"
            xe = self.router.personality.layouts.mypubkey_xe
            out += [
                f"% Key pair was generated at: {self.router.clock.format_date(pair.generated_at)}",
                f"Key name: {pair.label}",
                f"Key type: RSA KEYS      {pair.bits} bits" if xe else "Key type: RSA KEYS",
                f" Storage Device: {storage}",
                f" Usage: {pair.usage}",
                f" Key is {'' if pair.exportable else 'not '}exportable." + (" Redundancy enabled." if xe else ""),
                " Key Data:",
                *key_data_lines(pair.private_key),
            ]
        return "\n".join(out) + "\n" if out else ""

    # ---- export / import ---------------------------------------------------------------
    @handles(catalog.CRYPTO_KEY_EXPORT_RSA)
    def export_cmd(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``crypto key export rsa L pem {terminal | url URL} {3des | des} PASSPHRASE``."""
        label = args["label"]
        pair = self.pairs.get(label)
        if pair is None:
            return f"% RSA keypair '{label}' does not exist."
        if not pair.exportable:
            return f"% RSA keypair '{label}' is not exportable."
        cipher: ExportCipher = "3des" if args.get("3des") else "des"
        pub_pem, prv_pem = export_key_pem(pair.private_key, cipher, args["passphrase"].strip())
        yield f"% Key name: {label}\n   Usage: {pair.usage}\n"
        if args.get("terminal"):
            return "Key data:\n" + pub_pem + "\n" + prv_pem
        base = _directory(args["url"])
        for kind, ext, data in (("public", "pub", pub_pem), ("private", "prv", prv_pem)):
            yield f"Exporting {kind} key...\n"
            answer = (yield Ask(f"Destination filename [{label}.{ext}]? ")).strip()
            target = base + (answer or f"{label}.{ext}")
            try:
                self.router.fs.write(target, data.encode("ascii"))
            except FileSystemError as exc:
                return str(exc)
            yield f"Writing file to {target}\n" + ("\n" if ext == "pub" else "")
        return None

    @handles(catalog.CRYPTO_KEY_IMPORT_RSA)
    def import_cmd(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``crypto key import rsa L [exportable] pem {terminal | url URL} PASSPHRASE`` (seed step 11)."""
        label = args["label"]
        if args.get("terminal"):
            texts = yield from self._import_pasted()
        else:
            texts = yield from self._import_files(label, _directory(args["url"]))
        if isinstance(texts, str):
            return f"{texts}\n% Key pair import failed."
        try:
            key = import_key_pem(texts[0], texts[1], args["passphrase"].strip())
        except PkiError:
            return "% Key pair import failed."
        self.install(label, key, bool(args.get("exportable")))
        return "% Key pair import succeeded."

    def _import_files(self, label: str, base: str) -> Generator[Any, str, list[str] | str]:
        texts: list[str] = []
        for title, ext in (("public key or certificate", "pub"), ("private key", "prv")):
            yield f"% Importing {title} PEM file...\n"
            answer = (yield Ask(f"Source filename [{label}.{ext}]? ")).strip()
            source = base + (answer or f"{label}.{ext}")
            yield f"Reading file from {source}\n" + ("\n" if ext == "pub" else "")
            try:
                texts.append(self.router.fs.read(source).decode("ascii", "replace"))
            except FileSystemError as exc:
                return str(exc)
        return texts

    @staticmethod
    def _import_pasted() -> Generator[Any, str, list[str] | str]:
        texts: list[str] = []
        for what, end in (
            ("public General Purpose key or certificate", 'a blank line or "quit"'),
            ("encrypted private General Purpose key", '"quit"'),
        ):
            yield f"% Enter PEM-formatted {what}.\n% End with {end} on a line by itself.\n"
            lines: list[str] = []
            while True:
                line = (yield Ask("")).rstrip()
                # The private key PEM has a blank line after its headers: only "quit" ends it.
                if line.strip().lower() == "quit" or (not line.strip() and "blank" in end):
                    break
                lines.append(line)
            texts.append("\n".join(lines) + "\n")
        return texts

    # ---- zeroize -----------------------------------------------------------------------
    @handles(catalog.CRYPTO_KEY_ZEROIZE_RSA)
    def zeroize_cmd(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``crypto key zeroize rsa [LABEL]`` with the seed's dialog."""
        label = args.get("label")
        if label is not None and label not in self.pairs:
            return f"% RSA keypair '{label}' does not exist."
        if not self.pairs:
            return "% No Signature RSA Keys found in configuration."
        if label is None:
            yield "% All RSA keys will be removed.\n"
        else:
            yield f"% Keys to be removed are named '{label}'.\n"
        yield "% All router certs issued using these keys will also be removed.\n"
        while True:
            ok = _yes_no((yield Ask("Do you really want to remove these keys? [yes/no]: ")))
            if ok is not None:
                break
            yield "% Please answer 'yes' or 'no'.\n"
        if ok:
            for name in [label] if label is not None else list(self.pairs):
                self.remove(name)
        return None


def _directory(url: str) -> str:
    """The prefix files go under for a ``url`` argument (``nvram:`` or ``flash:/dir/``)."""
    if url.endswith((":", "/")):
        return url
    if re.fullmatch(r"[A-Za-z]+:.*", url):
        return url + "/"
    return url
