"""Key types, and which operations each may perform (API.md §1.4)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from convoscope.errors import Forbidden
from convoscope.store import Scope


class KeyType(enum.StrEnum):
    API = "api"
    WEB = "web"
    SLACK = "slack"
    SUPPORT_COPILOT = "support_copilot"
    DISCORD = "discord"
    MCP = "mcp"

    @property
    def is_write_only(self) -> bool:
        return self is not KeyType.API


@dataclass(slots=True, frozen=True)
class Caller:
    """Who made a request: the key's project, integration and type."""

    key_id: str
    key_type: KeyType
    scope: Scope

    @property
    def is_write_only(self) -> bool:
        return self.key_type.is_write_only


def require_read(caller: Caller) -> None:
    """Refuse write-only keys on operations that return stored data."""
    if caller.is_write_only:
        raise Forbidden(
            f"a {caller.key_type.value} key may only send data; reading it needs an api key"
        )
