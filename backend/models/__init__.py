"""SQLAlchemy models, one module per area; importing this registers them all."""

from backend.models.accounts import Account, User
from backend.models.audit import AuditEvent
from backend.models.auth import EmailToken
from backend.models.base import NotFound, TenantScope
from backend.models.billing import BillingAccount, StripeEvent, UsageRecord
from backend.models.connections import Connection
from backend.models.jobs import Job
from backend.models.orgs import OrgConnection
from backend.models.pieces import RunPiece
from backend.models.runs import Run
from backend.models.storage import Blob, BlobChunk

SECRET_MODELS = (OrgConnection, Connection)

__all__ = ["Account", "AuditEvent", "BillingAccount", "Blob", "BlobChunk", "Connection", "EmailToken", "Job",
           "NotFound", "OrgConnection", "Run", "RunPiece", "SECRET_MODELS", "StripeEvent", "TenantScope", "UsageRecord",
           "User"]
