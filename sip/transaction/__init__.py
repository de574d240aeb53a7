"""RFC 3261 §17 transactions (with RFC 6026), sans-I/O.

One module per machine (``ict``, ``nict``, ``ist``, ``nist``), the shared
effects and table driver in ``base``, and the matching layer in ``layer``.
"""

from sip.transaction.base import (
    MAGIC_COOKIE,
    CancelTimer,
    ClientTransaction,
    Deliver,
    Effect,
    Send,
    ServerTransaction,
    StartTimer,
    State,
    Terminated,
    TimedOut,
    Transaction,
    TransportFailed,
    make_branch,
)
from sip.transaction.ict import InviteClientTransaction, build_ack
from sip.transaction.ist import InviteServerTransaction
from sip.transaction.layer import (
    LayerEvent,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
)
from sip.transaction.nict import NonInviteClientTransaction
from sip.transaction.nist import NonInviteServerTransaction

__all__ = [
    "MAGIC_COOKIE",
    "CancelTimer",
    "ClientTransaction",
    "Deliver",
    "Effect",
    "InviteClientTransaction",
    "InviteServerTransaction",
    "LayerEvent",
    "NonInviteClientTransaction",
    "NonInviteServerTransaction",
    "RequestReceived",
    "ResponseReceived",
    "Send",
    "SendMessage",
    "ServerTransaction",
    "StartTimer",
    "State",
    "StrayResponse",
    "Terminated",
    "TimedOut",
    "Transaction",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
    "TransportFailed",
    "build_ack",
    "make_branch",
]
