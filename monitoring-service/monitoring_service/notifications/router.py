"""Notification endpoints for operators (admin, operator): each community's settings, and its
deliveries. ``/api/monitoring/*`` (DESIGN §2: a capability no seed names, under the service's noun)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from gridcommons.community import STAFF_ROLES
from gridcommons.db import SessionDep
from gridcommons.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed, responses
from gridcommons.identity import TenantIdentity, require_roles
from gridcommons.pagination import PageParams
from gridcommons.validation import Text

from ..settings import MonitoringSettings
from . import service
from .schemas import Delivery, DeliveryState, NotificationSettings, NotificationSettingsUpdate

router = APIRouter(prefix="/api/monitoring", tags=["notifications"])

Staff = Annotated[TenantIdentity, require_roles(*STAFF_ROLES)]
CommunityPath = Annotated[
    Text,
    Path(
        alias="communityId",
        min_length=1,
        max_length=64,
        description="Code of the community (the seed's communityId).",
        examples=["oss_community"],
    ),
]
ERRORS = responses(
    (DomainError, "CompanyID header missing"),
    (Forbidden, "The caller is not an admin or operator of the company"),
    (NotFound, "No such community in this company"),
)


def _settings(request: Request) -> MonitoringSettings:
    settings: MonitoringSettings = request.app.state.settings
    return settings


@router.get(
    "/notification-settings",
    response_model=list[NotificationSettings],
    responses=responses(
        (DomainError, "CompanyID header missing"), (Forbidden, "The caller is not an admin or operator of the company")
    ),
)
async def list_notification_settings(
    request: Request, identity: Staff, session: SessionDep, page: PageParams
) -> list[NotificationSettings]:
    """The communities that have notification settings of their own, by community code (the others use
    the defaults: recipients MONITORING_DEFAULT_NOTIFY_TO, time zone MONITORING_NOTIFY_TIME_ZONE, no webhook)."""
    return await service.list_settings(session, _settings(request), identity.company_id, page)


@router.get("/notification-settings/{communityId}", response_model=NotificationSettings, responses=ERRORS)
async def get_notification_settings(
    request: Request, identity: Staff, session: SessionDep, community: CommunityPath
) -> NotificationSettings:
    """A community's notification settings and what they mean now: who receives the failure e-mails, in
    which time zone, and the webhook (its secret is never answered)."""
    return await service.get_settings(session, _settings(request), identity.company_id, community)


@router.put(
    "/notification-settings/{communityId}",
    response_model=NotificationSettings,
    responses={**ERRORS, **responses((ValidationFailed, "An invalid address, time zone, URL or secret"))},
)
async def put_notification_settings(
    request: Request, identity: Staff, session: SessionDep, community: CommunityPath, body: NotificationSettingsUpdate
) -> NotificationSettings:
    """Replace a community's notification settings. They apply to the failure events consumed from now on
    (an e-mail already recorded keeps its recipients; a pending webhook delivery goes to the webhook as it
    is when sent)."""
    return await service.put_settings(session, _settings(request), identity.company_id, community, body)


@router.delete(
    "/notification-settings/{communityId}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ERRORS,
)
async def delete_notification_settings(identity: Staff, session: SessionDep, community: CommunityPath) -> Response:
    """Forget a community's own settings: it uses the defaults again (and has no webhook)."""
    await service.delete_settings(session, identity.company_id, community)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/notification-deliveries/{communityId}", response_model=list[Delivery], responses=ERRORS)
async def list_notification_deliveries(
    identity: Staff,
    session: SessionDep,
    community: CommunityPath,
    page: PageParams,
    state: Annotated[DeliveryState | None, Query(description="Only deliveries in this state.")] = None,
) -> list[Delivery]:
    """The community's notifications of failures and where each delivery stands, newest first: pending
    ones wait for their next attempt, dead ones were given up (see the service's README)."""
    return await service.list_deliveries(session, identity.company_id, community, state, page)


@router.post(
    "/notification-deliveries/{communityId}/{deliveryId}/retry",
    response_model=Delivery,
    responses={
        **ERRORS,
        **responses(
            (NotFound, "No such community, or no such delivery of it"),
            (Conflict, "The delivery is pending or delivered: only a dead or cancelled one can be retried"),
        ),
    },
)
async def retry_notification_delivery(
    identity: Staff,
    session: SessionDep,
    community: CommunityPath,
    delivery_id: Annotated[
        int, Path(alias="deliveryId", ge=1, le=2**63 - 1, description="Id of the delivery.", examples=[42])
    ],
) -> Delivery:
    """Try a dead (given up) or cancelled delivery again, once the cause is fixed: it is pending again with a
    fresh count of attempts and is sent at once (the e-mail as recorded, the webhook as configured now)."""
    return await service.retry_delivery(session, identity.company_id, community, delivery_id)
