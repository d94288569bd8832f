"""Who may give which role to whom, and the rule that keeps an account administrable."""

from __future__ import annotations

from seatkeeper.domain.errors import Conflict, NotAllowed
from seatkeeper.domain.model import Role


def check_may_give(actor: Role, role: Role) -> None:
    """An admin gives roles up to their own, never above it."""
    if role.rank > actor.rank:
        raise NotAllowed(
            f"You cannot give the {role.label} role: it is above your own ({actor.label})."
        )


def check_may_manage(actor: Role, target: Role) -> None:
    """An admin changes users of their own role or lower."""
    if target.rank > actor.rank:
        raise NotAllowed(
            f"You cannot change a {target.label}: that role is above your own ({actor.label})."
        )


def check_admins_left(target: Role, *, stays_admin: bool, enabled_admins: int) -> None:
    """The account keeps at least one enabled account_admin: the last one can be neither
    lowered nor disabled."""
    if target is Role.ACCOUNT_ADMIN and not stays_admin and enabled_admins <= 1:
        raise Conflict(
            "This is the account's last enabled Account Admin: make another user an "
            "Account Admin first."
        )
