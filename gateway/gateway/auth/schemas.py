"""Wire shapes of the gateway's own endpoints."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from gridcommons.describe import explain_values
from gridcommons.wire import WireModel

USERNAME_PATTERN = r"^[A-Za-z0-9@.+_-]{1,150}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("Enter a valid email address.")
    return value


Username = Annotated[str, Field(min_length=1, max_length=150, pattern=USERNAME_PATTERN, examples=["johndoe"])]
Email = Annotated[
    str,
    Field(min_length=3, max_length=254, examples=["johndoe@example.com"], json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
ROLE_MEANINGS = {
    "admin": "manages the company: its users, invitations, machine clients and the seed 001 admin APIs",
    "operator": "works with the company's data (seed 004's staff): assets, sites, communities, deals",
    "member": "seed 004's resident: sees only the units and meters linked to them",
}
Role = Annotated[Literal["admin", "operator", "member"], Field(json_schema_extra=explain_values(ROLE_MEANINGS))]


class RegisterRequest(WireModel):
    username: Username = Field(description="Login name to register (unique).")
    email: Email = Field(description="E-mail address (unique).")
    password: str = Field(
        description="Password (8..1024 characters; write-only).",
        min_length=8,
        max_length=1024,
        examples=["strong-password"],
    )


class LoginRequest(WireModel):
    username: str = Field(description="Login name.", min_length=1, max_length=150, examples=["johndoe"])
    password: str = Field(description="Password.", min_length=1, max_length=1024, examples=["strong-password"])


class UserOut(WireModel):
    id: int = Field(description="User id.")
    username: str = Field(description="Login name (letters, digits and @.+-_ ; case as registered).")
    email: str = Field(description="E-mail address.")


class AuthResponse(WireModel):
    user: UserOut = Field(description="The signed-in user.")
    token: str = Field(
        description="Bearer access token for the `Authorization: Bearer` header (valid for the gateway's token lifetime, 1 hour by default)."
    )


class TokenResponse(WireModel):
    access_token: str = Field(description="Bearer access token for the `Authorization: Bearer` header.")
    token_type: Literal["bearer"] = Field(
        default="bearer",
        description="How to use the token (RFC 6749 §7.1).",
        json_schema_extra=explain_values({"bearer": "send it as `Authorization: Bearer <access_token>`"}),
    )
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        None,
        description="password and refresh_token grants only: opaque, single use (each use returns a new one); "
        "presenting a used one again revokes the whole family",
    )


class PasswordChange(WireModel):
    current_password: str = Field(
        description="The current password.", min_length=1, max_length=1024, examples=["strong-password"]
    )
    new_password: str = Field(
        description="The new password (8..1024 characters).",
        min_length=8,
        max_length=1024,
        examples=["an-even-stronger-passphrase"],
    )


class OAuthError(WireModel):
    error: str = Field(description="OAuth2 error code (RFC 6749 §5.2), e.g. `invalid_grant`.")
    error_description: str | None = Field(default=None, description="Human-readable explanation (may be absent).")


class AdminUserOut(WireModel):
    id: int = Field(description="User id.")
    username: str = Field(description="Login name (letters, digits and @.+-_ ; case as registered).")
    email: str = Field(description="E-mail address.")
    role: str | None = Field(None, description="Role in the CompanyID company; null in the superuser's global listing")


class CompanyCreate(WireModel):
    name: str = Field(
        description="Company name, unique on the platform (1..200 characters).",
        min_length=1,
        max_length=200,
        examples=["Stadtwerke Musterstadt"],
    )


class CompanyOut(WireModel):
    id: int = Field(description="Company id: the value of the CompanyID header.")
    name: str = Field(description="Company name.")
    created_at: datetime = Field(
        description="When the company was created (ISO 8601 instant with offset, answered in UTC)."
    )


class CompanyWithRole(CompanyOut):
    role: str | None = Field(
        None, description="The caller's role in the company (null for a superuser who is not a member)"
    )


class MembershipIn(WireModel):
    role: Role = Field(description="Role to give the user in the company.", examples=["operator"])


class MemberOut(WireModel):
    company_id: int = Field(description="Id of the company (tenant).")
    user_id: int = Field(description="User id of the member.")
    username: str = Field(description="Login name of the member.")
    email: str = Field(description="E-mail address of the member.")
    role: Role = Field(description="Role in the company.")


class InvitationCreate(WireModel):
    """Exactly one of ``username`` and ``email``."""

    username: str | None = Field(
        None,
        description="Login name of the person to invite (give this or email).",
        min_length=1,
        max_length=150,
        examples=["johndoe"],
    )
    email: Email | None = Field(
        default=None, description="E-mail address of the person to invite (give this or username).", examples=[None]
    )
    role: Role = Field(description="Role the invitee gets on accepting.", examples=["operator"])

    @model_validator(mode="after")
    def _one_invitee(self) -> InvitationCreate:
        if (self.username is None) == (self.email is None):
            raise ValueError("Give exactly one of username and email")
        return self


class InvitationOut(WireModel):
    """An invitation as its company's admins see it: the invitee as they typed it, nothing else."""

    id: int = Field(description="Invitation id.")
    company_id: int = Field(description="Id of the company (tenant).")
    invitee: str = Field(description="Username or e-mail address as the inviter typed it.")
    role: Role = Field(description="Role in the company.")
    created_at: datetime = Field(
        description="When the invitation was made (ISO 8601 instant with offset, answered in UTC)."
    )
    expires_at: datetime = Field(
        description="When the invitation expires (ISO 8601 instant with offset, answered in UTC)."
    )


class MyInvitationOut(WireModel):
    """An invitation as the invited user sees it."""

    id: int = Field(description="Invitation id.")
    company_id: int = Field(description="Id of the company (tenant).")
    company_name: str = Field(description="Name of the inviting company.")
    role: Role = Field(description="Role in the company.")
    created_at: datetime = Field(
        description="When the invitation was made (ISO 8601 instant with offset, answered in UTC)."
    )
    expires_at: datetime = Field(
        description="When the invitation expires (ISO 8601 instant with offset, answered in UTC)."
    )


class MachineClientCreate(WireModel):
    name: str = Field(
        description="Name of the machine client (e.g. the device or system it stands for).",
        min_length=1,
        max_length=150,
        examples=["metering-gateway-berlin-01"],
    )
    request_budget_per_minute: int | None = Field(
        None,
        description="Requests per minute the machine client may make through the gateway (burst of the same size); null = the gateway's default (600).",
        ge=1,
        le=1_000_000,
        examples=[600],
    )


class MachineClientOut(WireModel):
    client_id: str = Field(
        description="Public id of the machine client (OAuth2 client_id of the client_credentials grant)."
    )
    name: str = Field(description="Name of the machine client.")
    company_id: int = Field(description="Id of the company (tenant).")
    request_budget_per_minute: int | None = Field(
        description="Requests per minute the machine client may make through the gateway (burst of the same size); null = the gateway's default (600)."
    )
    created_at: datetime = Field(
        description="When the client was created (ISO 8601 instant with offset, answered in UTC)."
    )
    revoked_at: datetime | None = Field(
        default=None,
        description="When the machine client was revoked (ISO 8601 instant with offset, answered in UTC); null while it is active.",
    )


class MachineClientCreated(MachineClientOut):
    client_secret: str = Field(description="Shown once; only a digest is stored")


class SessionUser(WireModel):
    username: str = Field(description="Login name (letters, digits and @.+-_ ; case as registered).")
    last_name: str = Field(description="Family name.")
    first_name: str = Field(description="Given name.")
    email: str = Field(description="E-mail address.")


class SessionInfo(WireModel):
    sessionid: str = Field(description="Session id (also the `sessionid` cookie).")
    expiry_age: int = Field(description="Seconds until the session expires.")
    expiry_date: str = Field(description="When the session expires (ISO 8601 instant with offset, answered in UTC).")
    user: SessionUser = Field(description="The signed-in user.")


class CsrfToken(WireModel):
    csrfmiddlewaretoken: str = Field(
        description="CSRF token to send back as the form field `csrfmiddlewaretoken` (equals the `csrftoken` cookie)."
    )
