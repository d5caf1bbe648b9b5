"""SA records kept by the engine (mutable, private) and the snapshots it exposes for show output."""

from __future__ import annotations

from dataclasses import dataclass, field

from pkilab.protocols.ike.codec import IdBody, Payload
from pkilab.protocols.ike.config import TunnelRequest
from pkilab.protocols.ike.crypto import CipherSpec, DhGroup, Phase1Keys
from pkilab.protocols.ike.events import Endpoint, Phase2Up
from pkilab.protocols.ike.mm_states import SHOW_NAMES, MmState, Role
from pkilab.protocols.ike.policy import IsakmpPolicy, Phase2Choice, Phase2Policy, Selector
from pkilab.protocols.ike.qm_states import QmState


@dataclass
class Retransmit:
    """The last message of an exchange, and when to send it again."""

    data: bytes = b""
    local: Endpoint | None = None
    remote: Endpoint | None = None
    tries: int = 0
    due: float | None = None
    received: bytes = b""  # the peer message we answered with ``data``


@dataclass
class QuickExchange:
    """One quick mode exchange (by message ID)."""

    message_id: int
    role: Role
    state: QmState
    iv: bytes
    created: float
    request: TunnelRequest | None = None
    policy: Phase2Policy | None = None
    ni: bytes = b""
    nr: bytes = b""
    group: DhGroup | None = None
    dh_priv: int = 0
    ke_i: bytes = b""
    ke_r: bytes = b""
    spi_in: bytes = b""
    id_ci: IdBody | None = None
    id_cr: IdBody | None = None
    choice: Phase2Choice | None = None
    pending: Phase2Up | None = None  # SAs a handler prepared, installed before the answer goes
    answer: list[Payload] | None = None  # the answer a handler prepared (QM2, QM3)
    rtx: Retransmit = field(default_factory=Retransmit)


@dataclass
class IsakmpSa:
    """One ISAKMP SA, from MM1 to deletion."""

    conn_id: int
    role: Role
    local: Endpoint
    remote: Endpoint
    icookie: bytes
    rcookie: bytes
    state: MmState
    created: float
    offered: tuple[IsakmpPolicy, ...] = ()
    policy: IsakmpPolicy | None = None
    group: DhGroup | None = None
    dh_priv: int = 0
    ke_i: bytes = b""
    ke_r: bytes = b""
    ni: bytes = b""
    nr: bytes = b""
    sai_b: bytes = b""
    shared: bytes = b""
    keys: Phase1Keys | None = None
    cipher: CipherSpec | None = None
    iv: bytes = b""  # CBC chain of phase 1; after it, the last phase 1 block
    peer_dpd: bool = False
    peer_natt: bool = False
    nat_local: bool = False
    nat_remote: bool = False
    peer_identity: str = ""
    peer_cert: bytes = b""
    peer_initial_contact: bool = False
    # Peer ID, SIG and the message carrying them, kept while the validator decides.
    pending_auth: tuple[IdBody, bytes, bytes] | None = None
    rtx: Retransmit = field(default_factory=Retransmit)
    established: float | None = None
    expires: float | None = None
    failed_at: float | None = None
    quick: dict[int, QuickExchange] = field(default_factory=dict)
    queued: list[TunnelRequest] = field(default_factory=list)
    last_heard: float = 0.0
    last_traffic_sent: float = float("-inf")
    dpd_seq: int = 0
    dpd_waiting: bool = False
    dpd_tries: int = 0
    dpd_due: float | None = None
    natt_keepalive_due: float | None = None

    @property
    def nat_t(self) -> bool:
        """NAT-T negotiated and a NAT seen (or forced): IKE on 4500 and ESP in UDP."""
        return self.peer_natt and (self.nat_local or self.nat_remote)


@dataclass(frozen=True)
class IsakmpSaInfo:
    """One row of ``show crypto isakmp sa [detail]``."""

    conn_id: int
    local: Endpoint
    remote: Endpoint
    state: str
    role: str
    status: str
    encr: str
    hash: str
    auth: str
    group: int
    lifetime_remaining: float | None
    capabilities: str
    peer_identity: str


@dataclass(frozen=True)
class IpsecSaInfo:
    """One ESP SA pair for ``show crypto ipsec sa`` / ``show crypto engine connections active``."""

    isakmp_conn_id: int
    conn_ids: tuple[int, int]  # inbound, outbound (IOS engine ids 2001, 2002 …)
    local: Endpoint
    remote: Endpoint
    local_selector: Selector
    remote_selector: Selector
    inbound_spi: int
    outbound_spi: int
    transform: str
    pfs_group: int | None
    lifetime_remaining: float
    lifetime_kilobytes: int
    udp_encapsulation: bool
    crypto_map: str


@dataclass
class IpsecSaRecord:
    """An installed ESP SA pair and what is needed to rekey it."""

    up: Phase2Up
    conn_ids: tuple[int, int]
    created: float
    expires: float
    rekey_at: float | None
    request: TunnelRequest | None
    rekeyed: bool = False


def isakmp_info(sa: IsakmpSa, now: float, dpd_enabled: bool) -> IsakmpSaInfo:
    """Snapshot of an ISAKMP SA for show output."""
    pol = sa.policy
    remaining = None if sa.expires is None else max(0.0, sa.expires - now)
    caps = ("D" if dpd_enabled and sa.peer_dpd else "") + ("N" if sa.nat_t else "")
    return IsakmpSaInfo(
        conn_id=sa.conn_id,
        local=sa.local,
        remote=sa.remote,
        state=SHOW_NAMES[sa.state],
        role=sa.role.value,
        status="ACTIVE" if sa.failed_at is None else "ACTIVE (deleted)",
        encr=pol.encr_name if pol else "",
        hash=pol.hash_name if pol else "",
        auth=pol.auth_name if pol else "",
        group=pol.group if pol else 0,
        lifetime_remaining=remaining,
        capabilities=caps,
        peer_identity=sa.peer_identity,
    )


def ipsec_info(rec: IpsecSaRecord, now: float) -> IpsecSaInfo:
    """Snapshot of an ESP SA pair for show output."""
    up = rec.up
    return IpsecSaInfo(
        isakmp_conn_id=up.isakmp_conn_id,
        conn_ids=rec.conn_ids,
        local=up.local,
        remote=up.remote,
        local_selector=up.local_selector,
        remote_selector=up.remote_selector,
        inbound_spi=up.inbound.spi,
        outbound_spi=up.outbound.spi,
        transform=up.transform,
        pfs_group=up.pfs_group,
        lifetime_remaining=max(0.0, rec.expires - now),
        lifetime_kilobytes=up.lifetime_kilobytes,
        udp_encapsulation=up.udp_encapsulation,
        crypto_map=up.crypto_map,
    )
