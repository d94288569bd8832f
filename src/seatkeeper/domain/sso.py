"""Single sign-on: an account's OpenID Provider, and what its ID tokens say about a user.

Pure rules: which settings are valid, which username and role a token's claims give.
Fetching, signature checks and the authorization code flow are in services.sso.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from seatkeeper.domain import credentials
from seatkeeper.domain.errors import InvalidFields, SignInRefused
from seatkeeper.domain.model import Role
from seatkeeper.domain.validation import has_control

DEFAULT_USERNAME_CLAIM = "preferred_username"
DEFAULT_SCOPES = "openid profile"
# The highest role single sign-on gives: a super_admin operates the installation and
# logs in with their own password, never through a tenant's provider.
HIGHEST_ROLE = Role.ACCOUNT_ADMIN
MOST_AUDIENCES = 20
MOST_ROLE_RULES = 50
LONGEST = 500


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """An account's OpenID Provider, as an admin configures it (the secret aside)."""

    issuer: str
    client_id: str
    display_name: str
    username_claim: str = DEFAULT_USERNAME_CLAIM
    roles_claim: str | None = None  # e.g. "groups"
    role_map: Mapping[str, Role] = field(default_factory=dict)  # claim value -> role
    default_role: Role = Role.AGENT
    passwords_allowed: bool = True  # off: the account's users log in through the provider
    audiences: tuple[str, ...] = ()  # more client ids whose ID tokens open agent sessions
    scopes: str = DEFAULT_SCOPES

    @property
    def accepted_audiences(self) -> tuple[str, ...]:
        """The client ids an ID token may be issued to, to open an agent session."""
        return (self.client_id, *(a for a in self.audiences if a != self.client_id))


def _text(problems: dict[str, str], name: str, value: str, what: str) -> str:
    value = value.strip()
    if not value:
        problems[name] = f"Give the {what}."
    elif len(value) > LONGEST or has_control(value):
        problems[name] = f"The {what} has at most {LONGEST} characters, none of them control."
    return value


def _issuer(problems: dict[str, str], value: str) -> str:
    issuer = _text(problems, "issuer", value, "issuer URL").rstrip("/")
    if "issuer" in problems:
        return issuer
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        problems["issuer"] = (
            "The issuer is the provider's https:// address, as its discovery document names "
            "it (https://login.example.com/realms/acme), without query or fragment."
        )
    return issuer


def _role(problems: dict[str, str], name: str, value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        problems[name] = f"{value!r} is not a role: agent, designer or account_admin."
        return Role.AGENT
    if not HIGHEST_ROLE.at_least(role):
        problems[name] = "Single sign-on gives at most the account_admin role."
    return role


def provider_settings(
    *,
    issuer: str,
    client_id: str,
    display_name: str,
    username_claim: str = DEFAULT_USERNAME_CLAIM,
    roles_claim: str | None = None,
    role_map: Mapping[str, str] | None = None,
    default_role: str = Role.AGENT.value,
    passwords_allowed: bool = True,
    audiences: tuple[str, ...] | list[str] = (),
    scopes: str = DEFAULT_SCOPES,
) -> ProviderSettings:
    """Checked settings; every wrong field is named with its own sentence (InvalidFields)."""
    problems: dict[str, str] = {}
    issuer = _issuer(problems, issuer)
    client_id = _text(problems, "client_id", client_id, "client id")
    display_name = _text(problems, "display_name", display_name, "provider's name")[:100]
    username_claim = _text(problems, "username_claim", username_claim, "username claim")
    roles_claim = (roles_claim or "").strip() or None
    if roles_claim is not None:
        _text(problems, "roles_claim", roles_claim, "roles claim")
    rules = dict(role_map or {})
    if len(rules) > MOST_ROLE_RULES:
        problems["role_map"] = f"At most {MOST_ROLE_RULES} claim values may be given roles."
    mapped = {}
    for value, role in rules.items():
        if not value.strip() or len(value) > LONGEST or has_control(value):
            problems["role_map"] = "Each claim value is some text without control characters."
        mapped[value] = _role(problems, "role_map", role)
    if mapped and roles_claim is None:
        problems["roles_claim"] = "Name the claim that holds the values given roles (groups)."
    default = _role(problems, "default_role", default_role)
    audiences = tuple(dict.fromkeys(a.strip() for a in audiences if a.strip()))
    if len(audiences) > MOST_AUDIENCES or any(
        len(a) > LONGEST or has_control(a) for a in audiences
    ):
        problems["audiences"] = f"At most {MOST_AUDIENCES} client ids, without control characters."
    words = scopes.split()
    if "openid" not in words or has_control(scopes) or len(scopes) > LONGEST:
        problems["scopes"] = "The scopes are words separated by spaces, and include openid."
    if problems:
        raise InvalidFields(problems)
    return ProviderSettings(
        issuer=issuer,
        client_id=client_id,
        display_name=display_name,
        username_claim=username_claim,
        roles_claim=roles_claim,
        role_map=mapped,
        default_role=default,
        passwords_allowed=passwords_allowed,
        audiences=audiences,
        scopes=" ".join(dict.fromkeys(words)),
    )


def username_of(settings: ProviderSettings, claims: Mapping[str, Any]) -> str:
    """The seatkeeper username a token's claims name, or a refusal saying what is wrong."""
    value = claims.get(settings.username_claim)
    if not isinstance(value, str) or not value.strip():
        raise SignInRefused(
            f"The provider's token has no {settings.username_claim!r} claim to name the user by."
        )
    problem = credentials.username_problem(value.strip())
    if problem is not None:
        raise SignInRefused(f"The provider names the user {value.strip()[:100]!r}: {problem}")
    return value.strip()


def role_of(settings: ProviderSettings, claims: Mapping[str, Any]) -> Role:
    """The highest role the token's roles claim maps to, else the default role."""
    if settings.roles_claim is None:
        return settings.default_role
    held = claims.get(settings.roles_claim)
    values = [held] if isinstance(held, str) else held if isinstance(held, list) else []
    given = [settings.role_map[v] for v in values if isinstance(v, str) and v in settings.role_map]
    return max(given, key=lambda r: r.rank, default=settings.default_role)
