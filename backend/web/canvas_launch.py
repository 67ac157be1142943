"""A verified canvas launch: find or create the org's account (pinned here), the user and the org connection."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import Account, OrgConnection, TenantScope, User
from backend.salesforce.oauth import salesforce_url
from backend.security.canvas import CanvasRequest
from backend.security.crypto import Keyring
from backend.settings import Settings

# Salesforce user types that are people inside the org; portal, community and guest users are not.
INTERNAL_USER_TYPES = ("STANDARD",)


class LaunchRefused(Exception):
    """A verified request Inflow still will not serve; the message is shown to the user."""


@dataclass(frozen=True)
class Launch:
    account: Account
    user: User
    org: OrgConnection
    first_launch: bool


def find_account(org_id: str) -> Account | None:
    return db.session.scalars(select(Account).where(Account.salesforce_org_id == org_id)).first()


def provision(request: CanvasRequest, settings: Settings, keyring: Keyring) -> Launch:
    """Create on first launch, refresh names and tokens on later ones; the caller commits."""
    user_type = str(request.user.get("userType") or "STANDARD").upper()
    if user_type not in INTERNAL_USER_TYPES:
        raise LaunchRefused("Inflow is for users inside your Salesforce org; this user type cannot open it.")
    try:
        instance_url = salesforce_url(request.instance_url, settings)
    except ValueError as err:
        raise LaunchRefused(f"The signed request names an unexpected Salesforce host: {err}") from None
    account = find_account(request.org_id)
    first = account is None
    if first:
        account = Account(company=str(request.organization.get("name") or request.org_id)[:255],
                          region=settings.region, salesforce_org_id=request.org_id)
        db.session.add(account)
        db.session.flush()
    scope = TenantScope(account.id)
    user = _user(request, scope, first)
    org = _org_connection(request, scope, instance_url, user, keyring)
    return Launch(account, user, org, first)


def _user(request: CanvasRequest, scope: TenantScope, first_launch: bool) -> User:
    user = db.session.scalars(scope.select(User).where(User.salesforce_user_id == request.user_id)).first()
    if user is None:
        # Whoever opens Inflow first for an org provisions it and becomes its admin; later users join as
        # users and an admin promotes them (a signed request carries no permissions to decide from).
        user = scope.add(User(salesforce_user_id=request.user_id, email=_free_email(request),
                              role="admin" if first_launch else "user", email_verified=False))
    user.first_name = str(request.user.get("firstName") or "")[:80]
    user.last_name = str(request.user.get("lastName") or "")[:80]
    user.locale = str(request.user.get("locale") or "")[:16]  # date formats default to the user's locale
    return user


def _free_email(request: CanvasRequest) -> str:
    # Emails are unique across Inflow (they are login names). Salesforce does not verify them for us, so a
    # taken address is never claimed: the user gets a placeholder in the reserved .invalid domain.
    email = str(request.user.get("email") or "").strip().lower()[:320]
    taken = db.session.scalars(select(User.id).where(User.email == email)).first() if email else True
    return f"{request.user_id}@{request.org_id}.salesforce.invalid".lower() if taken else email


def _org_connection(request: CanvasRequest, scope: TenantScope, instance_url: str, user: User,
                    keyring: Keyring) -> OrgConnection:
    org = db.session.scalars(scope.select(OrgConnection).where(OrgConnection.org_id == request.org_id)).first()
    created = org is None
    if org is None:
        org = scope.add(OrgConnection(org_id=request.org_id, login_url=instance_url, login_host_kind="mydomain",
                                      status="disconnected"))
    org.name = str(request.organization.get("name") or org.name or "")[:255]
    org.namespace_prefix = request.namespace_prefix[:15]
    if request.client.get("oauthToken") and _takes_tokens(org, user, created):
        take_launch_tokens(org, request, instance_url, keyring)
    return org


def take_launch_tokens(org: OrgConnection, request: CanvasRequest, instance_url: str, keyring: Keyring) -> None:
    """Store the signed request's tokens as the org's (first launch, or an admin's explicit Reconnect)."""
    org.instance_url = instance_url
    org.connected_by = request.user_id
    org.status = "connected"
    org.set_secret("access_token", str(request.client["oauthToken"]), keyring)
    refresh_token = request.client.get("refreshToken")
    if refresh_token:  # present only when the app has the refresh_token scope; never erase a stored one
        org.set_secret("refresh_token", str(refresh_token), keyring)


def _takes_tokens(org: OrgConnection, user: User, created: bool) -> bool:
    """Imports run with the stored tokens, so they stay those of the user who connected the org: a later
    launch refreshes them only for that user. An org an admin disconnected stays disconnected, whoever opens
    the tab, until an admin reconnects it explicitly (Reconnect on Instances); one whose tokens stopped
    working (`reconnect_required`) is reconnected by an admin's launch."""
    if org.status == "connected":
        return org.connected_by in (None, user.salesforce_user_id)
    if org.status == "disconnected" and not created:
        return False
    return user.role == "admin"


def provision_once(request: CanvasRequest, settings: Settings, keyring: Keyring) -> Launch:
    """provision() and commit; two first launches racing for one org both end on the one account."""
    try:
        launch = provision(request, settings, keyring)
        db.session.flush()
        return launch
    except IntegrityError:
        db.session.rollback()
        return provision(request, settings, keyring)
