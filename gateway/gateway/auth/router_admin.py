"""Seed 001 /admin/users, and company / membership / invitation / machine-client management under
/api/gateway."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from gridcommons.db import SessionDep
from gridcommons.identity import Identity

from ..principal import Principal
from . import service
from .authenticator import MAX_COMPANY_ID
from .deps import AuthDep, CompanyHeaderDep, CompanyIdentityDep, PrincipalDep
from .schemas import (
    AdminUserOut,
    CompanyCreate,
    CompanyOut,
    CompanyWithRole,
    InvitationCreate,
    InvitationOut,
    MachineClientCreate,
    MachineClientCreated,
    MachineClientOut,
    MemberOut,
    MembershipIn,
    MyInvitationOut,
)

admin = APIRouter(prefix="/admin/users", tags=["admin"])
gateway = APIRouter(prefix="/api/gateway", tags=["companies"])

# User, company and invitation ids: BIGINT, JavaScript-safe.
Id = Annotated[
    int,
    Path(
        ge=1,
        le=MAX_COMPANY_ID,
        description="Numeric id of what the parameter names: company_id the company (the value of the CompanyID "
        "header), user_id the user, invitation_id the invitation.",
    ),
]
ClientId = Annotated[str, Path(min_length=1, max_length=64, description="The machine client's client_id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found in this company"}}


async def _admin_scope(principal: Principal, auth: AuthDep, company: str | None) -> Identity | None:
    """None: a superuser without CompanyID (platform-wide); else the caller's admin identity in the company."""
    if principal.superuser and not company:
        return None
    return service.require_admin(await auth.identity_for(principal, company))


@admin.get("", response_model=list[AdminUserOut])
async def list_users(
    principal: PrincipalDep,
    auth: AuthDep,
    session: SessionDep,
    company: CompanyHeaderDep,
) -> list[AdminUserOut]:
    """Users of the CompanyID company (company admins); a superuser without CompanyID sees every user."""
    scope = await _admin_scope(principal, auth, company)
    return [AdminUserOut.from_row(r) for r in await service.admin_list_users(session, scope)]


@admin.get("/{user_id}", response_model=AdminUserOut, responses=NOT_FOUND)
async def get_user(
    user_id: Id,
    principal: PrincipalDep,
    auth: AuthDep,
    session: SessionDep,
    company: CompanyHeaderDep,
) -> AdminUserOut:
    """One user of the CompanyID company (404 if not a member of it)."""
    scope = await _admin_scope(principal, auth, company)
    return AdminUserOut.from_row(await service.admin_get_user(session, scope, user_id))


@gateway.post("/companies", status_code=status.HTTP_201_CREATED, response_model=CompanyOut)
async def create_company(
    body: CompanyCreate, principal: PrincipalDep, auth: AuthDep, session: SessionDep
) -> CompanyOut:
    """Create a company (tenant). Platform superusers only."""
    return CompanyOut.from_row(await service.create_company(session, auth, principal, body.name))


@gateway.get("/companies", response_model=list[CompanyWithRole])
async def list_companies(principal: PrincipalDep, session: SessionDep) -> list[CompanyWithRole]:
    """Companies the caller belongs to, with the role (a superuser sees all)."""
    return [CompanyWithRole.from_row(r) for r in await service.list_companies(session, principal)]


@gateway.get("/companies/{company_id}/members", response_model=list[MemberOut], responses=NOT_FOUND)
async def list_members(company_id: Id, principal: PrincipalDep, session: SessionDep) -> list[MemberOut]:
    """Members of a company (its admins, or a superuser)."""
    return [MemberOut.from_row(r) for r in await service.list_members(session, principal, company_id)]


@gateway.put("/companies/{company_id}/members/{user_id}", response_model=MemberOut, responses=NOT_FOUND)
async def set_member(
    company_id: Id, user_id: Id, body: MembershipIn, principal: PrincipalDep, auth: AuthDep, session: SessionDep
) -> MemberOut:
    """Change a member's role (the company's admins, or a superuser). Only a platform superuser
    adds a user who is not a member; others join by invitation (a company admin gets 404 for a
    user who is not a member, whether or not the user exists)."""
    return MemberOut.from_row(await service.set_membership(session, auth, principal, company_id, user_id, body.role))


@gateway.delete(
    "/companies/{company_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def remove_member(
    company_id: Id, user_id: Id, principal: PrincipalDep, auth: AuthDep, session: SessionDep
) -> Response:
    """Remove a user from the company (its admins, or a superuser)."""
    await service.remove_membership(session, auth, principal, company_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@gateway.post(
    "/companies/{company_id}/invitations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=InvitationOut,
    responses=NOT_FOUND,
)
async def invite(
    company_id: Id, body: InvitationCreate, principal: PrincipalDep, auth: AuthDep, session: SessionDep
) -> InvitationOut:
    """Invite a user by ``username`` or ``email`` with a role (the company's admins, or a superuser).
    The answer is the same whether or not such a user exists; the invited user sees the invitation
    in ``GET /api/gateway/invitations`` and accepts or declines it. Expires after 7 days."""
    return InvitationOut.from_row(await service.invite(session, auth, principal, company_id, body))


@gateway.get("/companies/{company_id}/invitations", response_model=list[InvitationOut], responses=NOT_FOUND)
async def list_company_invitations(company_id: Id, principal: PrincipalDep, session: SessionDep) -> list[InvitationOut]:
    """Pending invitations of the company (its admins, or a superuser)."""
    rows = await service.list_company_invitations(session, principal, company_id)
    return [InvitationOut.from_row(r) for r in rows]


@gateway.delete(
    "/companies/{company_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def cancel_invitation(
    company_id: Id, invitation_id: Id, principal: PrincipalDep, session: SessionDep
) -> Response:
    """Withdraw an invitation (the company's admins, or a superuser)."""
    await service.cancel_invitation(session, principal, company_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@gateway.get("/invitations", response_model=list[MyInvitationOut])
async def my_invitations(principal: PrincipalDep, session: SessionDep) -> list[MyInvitationOut]:
    """The caller's pending invitations."""
    return [MyInvitationOut.from_row(r) for r in await service.my_invitations(session, principal)]


@gateway.post("/invitations/{invitation_id}/accept", response_model=CompanyWithRole, responses=NOT_FOUND)
async def accept_invitation(
    invitation_id: Id, principal: PrincipalDep, auth: AuthDep, session: SessionDep
) -> CompanyWithRole:
    """Accept one of the caller's invitations: the caller becomes a member with the invited role."""
    company = await service.answer_invitation(session, auth, principal, invitation_id, accept=True)
    return CompanyWithRole.from_row(company)


@gateway.post(
    "/invitations/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def decline_invitation(
    invitation_id: Id, principal: PrincipalDep, auth: AuthDep, session: SessionDep
) -> Response:
    """Decline one of the caller's invitations."""
    await service.answer_invitation(session, auth, principal, invitation_id, accept=False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@gateway.post("/machine-clients", status_code=status.HTTP_201_CREATED, response_model=MachineClientCreated)
async def create_machine_client(
    body: MachineClientCreate, who: CompanyIdentityDep, auth: AuthDep, session: SessionDep
) -> MachineClientCreated:
    """Create a machine client (role ``device``) in the CompanyID company; the secret is shown once."""
    service.require_admin(who)
    return MachineClientCreated.from_row(await service.create_client(session, auth, who.company_id, body))


@gateway.get("/machine-clients", response_model=list[MachineClientOut])
async def list_machine_clients(who: CompanyIdentityDep, session: SessionDep) -> list[MachineClientOut]:
    """Machine clients of the CompanyID company (revoked ones included, with ``revoked_at``)."""
    service.require_admin(who)
    return [MachineClientOut.from_row(r) for r in await service.list_clients(session, who)]


@gateway.delete(
    "/machine-clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=NOT_FOUND
)
async def revoke_machine_client(
    client_id: ClientId, who: CompanyIdentityDep, auth: AuthDep, session: SessionDep
) -> Response:
    """Revoke a machine client and every token it holds."""
    service.require_admin(who)
    await service.revoke_client(session, auth, who, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
