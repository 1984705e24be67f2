"""Wire shapes of the gateway's own endpoints."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

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
Role = Literal["admin", "operator", "member"]


class RegisterRequest(WireModel):
    username: Username
    email: Email
    password: str = Field(min_length=8, max_length=1024, examples=["strong-password"])


class LoginRequest(WireModel):
    username: str = Field(min_length=1, max_length=150, examples=["johndoe"])
    password: str = Field(min_length=1, max_length=1024, examples=["strong-password"])


class UserOut(WireModel):
    id: int
    username: str
    email: str


class AuthResponse(WireModel):
    user: UserOut
    token: str


class TokenResponse(WireModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str | None = Field(
        None,
        description="password and refresh_token grants only: opaque, single use (each use returns a new one); "
        "presenting a used one again revokes the whole family",
    )


class PasswordChange(WireModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class OAuthError(WireModel):
    error: str
    error_description: str | None = None


class AdminUserOut(WireModel):
    id: int
    username: str
    email: str
    role: str | None = Field(None, description="Role in the CompanyID company; null in the superuser's global listing")


class CompanyCreate(WireModel):
    name: str = Field(min_length=1, max_length=200)


class CompanyOut(WireModel):
    id: int
    name: str
    created_at: datetime


class CompanyWithRole(CompanyOut):
    role: str | None = Field(
        None, description="The caller's role in the company (null for a superuser who is not a member)"
    )


class MembershipIn(WireModel):
    role: Role


class MemberOut(WireModel):
    company_id: int
    user_id: int
    username: str
    email: str
    role: Role


class InvitationCreate(WireModel):
    """Exactly one of ``username`` and ``email``."""

    username: str | None = Field(None, min_length=1, max_length=150, examples=["johndoe"])
    email: Email | None = None
    role: Role

    @model_validator(mode="after")
    def _one_invitee(self) -> InvitationCreate:
        if (self.username is None) == (self.email is None):
            raise ValueError("Give exactly one of username and email")
        return self


class InvitationOut(WireModel):
    """An invitation as its company's admins see it: the invitee as they typed it, nothing else."""

    id: int
    company_id: int
    invitee: str
    role: Role
    created_at: datetime
    expires_at: datetime


class MyInvitationOut(WireModel):
    """An invitation as the invited user sees it."""

    id: int
    company_id: int
    company_name: str
    role: Role
    created_at: datetime
    expires_at: datetime


class MachineClientCreate(WireModel):
    name: str = Field(min_length=1, max_length=150)
    request_budget_per_minute: int | None = Field(None, ge=1, le=1_000_000)


class MachineClientOut(WireModel):
    client_id: str
    name: str
    company_id: int
    request_budget_per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None = None


class MachineClientCreated(MachineClientOut):
    client_secret: str = Field(description="Shown once; only a digest is stored")


class SessionUser(WireModel):
    username: str
    last_name: str
    first_name: str
    email: str


class SessionInfo(WireModel):
    sessionid: str
    expiry_age: int
    expiry_date: str
    user: SessionUser


class CsrfToken(WireModel):
    csrfmiddlewaretoken: str
