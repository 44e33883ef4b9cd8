"""What several handler families share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdk.gateway.instruments import ContractQuery, GatewayContract, LookupError_

if TYPE_CHECKING:
    from sdk.gateway.session import ClientSession

__all__ = ["resolve"]


def resolve(session: ClientSession, req_id: int, query: ContractQuery) -> GatewayContract | None:
    """The instrument a request names, or None after answering error 200 (unknown or ambiguous)."""
    try:
        return session.gw.instruments.resolve(query)
    except LookupError_ as exc:
        session.error(req_id, 200, str(exc), exact=bool(exc.candidates))
        return None
