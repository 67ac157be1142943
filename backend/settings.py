"""One frozen settings object, read from the environment once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REGIONS = ("eu-frankfurt", "us-dallas", "au-sydney")
ROOT = Path(__file__).resolve().parent.parent
# Salesforce frames the canvas from My Domain (*.my.salesforce.com), Lightning (*.lightning.force.com),
# Visualforce (*.visualforce.com, *.force.com) and the Setup previewer (*.salesforce-setup.com).
SALESFORCE_FRAME_ANCESTORS = ("https://*.salesforce.com", "https://*.force.com", "https://*.visualforce.com",
                              "https://*.salesforce-setup.com")


class SettingsError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    # Fail closed: a deployment that forgets INFLOW_ENV runs with production's checks, never with dev keys.
    env: str = "production"
    instance_path: Path = ROOT / "instance"
    database_url: str = ""
    redis_url: str = ""
    region: str = "eu-frankfurt"
    region_urls: dict[str, str] = field(default_factory=dict)
    region_hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # each region's storage hosts
    keys: str = ""
    key_file: Path | None = None
    salesforce_client_id: str = ""
    salesforce_client_secret: str = ""
    salesforce_login_url: str = "https://login.salesforce.com"
    salesforce_api_version: str = "66.0"
    public_url: str = "http://127.0.0.1:5000"
    dev_upload_token: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "Inflow <no-reply@localhost>"
    smtp_tls: str = ""  # "" (plain, a local relay), "starttls" or "ssl"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)  # never printed with the settings
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    egress_allow_loopback: bool = False  # tests and the local demo talk to localorg on 127.0.0.1
    salesforce_sandbox_login_url: str = "https://test.salesforce.com"
    canvas_frame_ancestors: tuple[str, ...] = SALESFORCE_FRAME_ANCESTORS
    app_token_minutes: int = 15
    max_upload_bytes: int = 1024 ** 3  # per request (MAX_CONTENT_LENGTH); larger sources belong in connections
    dpa_url: str = ""  # the data processing agreement; linked in the app only when set
    hipaa_url: str = ""  # the HIPAA statement; linked in the app only when set
    stripe_secret_key: str = ""  # unset: billing is off, nothing is metered (plans.UNBILLED)
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""  # unset in production (Stripe's own); the tests point it at localstripe
    stripe_price_team: str = ""  # the Stripe Price id of each paid plan (backend/billing/plans.py)
    stripe_price_business: str = ""
    billing_grace_days: int = 7  # a failed payment keeps the paid plan this long, then the account drops to Free
    stripe_timeout_seconds: float = 20.0
    # Concurrent calls to one org from all runs and workers; Salesforce refuses a 26th long-running one.
    org_concurrent_calls: int = 20
    # A Salesforce call that has not answered in this long counts as failed (a hung org); the run retries later.
    salesforce_timeout_seconds: float = 300.0
    # OAuth apps of the Dropbox and Google Sheets connectors; the URLs are settings so tests use local stand-ins.
    dropbox_client_id: str = ""
    dropbox_client_secret: str = field(default="", repr=False)
    dropbox_auth_url: str = "https://www.dropbox.com/oauth2/authorize"
    dropbox_token_url: str = "https://api.dropboxapi.com/oauth2/token"
    dropbox_api_url: str = "https://api.dropboxapi.com"
    dropbox_content_url: str = "https://content.dropboxapi.com"
    google_client_id: str = ""
    google_client_secret: str = field(default="", repr=False)
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    google_sheets_url: str = "https://sheets.googleapis.com"
    # A file-upload run of more rows is split into pieces of this many rows that any worker may take
    # (backend/runs/split.py); 50,000 narrow rows keep one Bulk 2.0 job far below its 100 MB upload.
    piece_rows: int = 50_000
    # Pieces of one org in flight at once, over all runs and workers (Salesforce: a handful of concurrent
    # Bulk jobs per org; more only queue behind each other there).
    org_max_pieces: int = 5

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, check: bool = True) -> Settings:
        """`check=False` for a caller that overrides fields first and checks the result itself."""
        env = dict(os.environ if environ is None else environ)
        instance = Path(env.get("INFLOW_INSTANCE_PATH") or ROOT / "instance")
        key_file = env.get("INFLOW_KEY_FILE")
        settings = cls(
            env=env.get("INFLOW_ENV", "production"),
            instance_path=instance,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'inflow.db'}",
            redis_url=env.get("REDIS_URL", ""),
            region=env.get("INFLOW_REGION", "eu-frankfurt"),
            region_urls=_parse_region_urls(env.get("INFLOW_REGION_URLS", "")),
            region_hosts=_parse_region_hosts(env.get("INFLOW_REGION_HOSTS", "")),
            keys=env.get("INFLOW_KEYS", ""),
            key_file=Path(key_file) if key_file else None,
            salesforce_client_id=env.get("SALESFORCE_CLIENT_ID", ""),
            salesforce_client_secret=env.get("SALESFORCE_CLIENT_SECRET", ""),
            salesforce_login_url=env.get("SALESFORCE_LOGIN_URL", "https://login.salesforce.com"),
            salesforce_api_version=env.get("SALESFORCE_API_VERSION", "66.0"),
            public_url=env.get("PUBLIC_URL", "http://127.0.0.1:5000"),
            dev_upload_token=env.get("INFLOW_DEV_UPLOAD_TOKEN", ""),
            smtp_host=env.get("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get("SMTP_PORT", "25")),
            mail_from=env.get("MAIL_FROM", "Inflow <no-reply@localhost>"),
            smtp_tls=env.get("SMTP_TLS", "").lower(),
            smtp_username=env.get("SMTP_USERNAME", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            session_idle_minutes=int(env.get("INFLOW_SESSION_IDLE_MINUTES", "30")),
            session_absolute_hours=int(env.get("INFLOW_SESSION_ABSOLUTE_HOURS", "12")),
            egress_allow_loopback=env.get("INFLOW_EGRESS_ALLOW_LOOPBACK", "") == "1",
            salesforce_sandbox_login_url=env.get("SALESFORCE_SANDBOX_LOGIN_URL", "https://test.salesforce.com"),
            canvas_frame_ancestors=tuple(env.get("INFLOW_CANVAS_FRAME_ANCESTORS", "").split())
            or SALESFORCE_FRAME_ANCESTORS,
            app_token_minutes=int(env.get("INFLOW_APP_TOKEN_MINUTES", "15")),
            max_upload_bytes=int(env.get("INFLOW_MAX_UPLOAD_BYTES", str(1024 ** 3))),
            dpa_url=env.get("INFLOW_DPA_URL", ""),
            hipaa_url=env.get("INFLOW_HIPAA_URL", ""),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY", ""),
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=env.get("STRIPE_API_BASE", ""),
            stripe_price_team=env.get("STRIPE_PRICE_TEAM", ""),
            stripe_price_business=env.get("STRIPE_PRICE_BUSINESS", ""),
            billing_grace_days=int(env.get("INFLOW_BILLING_GRACE_DAYS", "7")),
            stripe_timeout_seconds=float(env.get("INFLOW_STRIPE_TIMEOUT_SECONDS", "20")),
            org_concurrent_calls=int(env.get("INFLOW_ORG_CONCURRENT_CALLS", "20")),
            salesforce_timeout_seconds=float(env.get("INFLOW_SALESFORCE_TIMEOUT_SECONDS", "300")),
            **_provider_settings(env),
            piece_rows=int(env.get("INFLOW_PIECE_ROWS", "50000")),
            org_max_pieces=int(env.get("INFLOW_ORG_MAX_PIECES", "5")),
        )
        if check:
            settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that would break a promise, naming what is missing."""
        if self.env not in ("development", "production", "test"):
            raise SettingsError(f"INFLOW_ENV must be development, production or test, not {self.env!r}")
        if self.region not in REGIONS:
            raise SettingsError(f"INFLOW_REGION must be one of {', '.join(REGIONS)}, not {self.region!r}")
        if self.smtp_tls not in ("", "starttls", "ssl"):
            raise SettingsError(f"SMTP_TLS must be starttls, ssl or empty, not {self.smtp_tls!r}")
        if self.max_upload_bytes < 1:
            raise SettingsError(f"INFLOW_MAX_UPLOAD_BYTES must be a positive number of bytes, "
                                f"not {self.max_upload_bytes}")
        if not 1 <= self.org_concurrent_calls <= 25:
            raise SettingsError(f"INFLOW_ORG_CONCURRENT_CALLS must be 1 to 25 (Salesforce allows 25 long-running "
                                f"calls per org), not {self.org_concurrent_calls}")
        if not self.salesforce_timeout_seconds > 0:
            raise SettingsError(f"INFLOW_SALESFORCE_TIMEOUT_SECONDS must be a positive number of seconds, "
                                f"not {self.salesforce_timeout_seconds}")
        if self.piece_rows < 1 or not 1 <= self.org_max_pieces <= 25:
            raise SettingsError(f"INFLOW_PIECE_ROWS must be at least 1 and INFLOW_ORG_MAX_PIECES 1 to 25, not "
                                f"{self.piece_rows} and {self.org_max_pieces}")
        for origin in self.canvas_frame_ancestors:
            if not origin.startswith("https://") or origin.rstrip("/") in ("https://*", "https:"):
                raise SettingsError(f"INFLOW_CANVAS_FRAME_ANCESTORS entry {origin!r} must be an https origin, "
                                    "never a bare wildcard")
        for name, url in (("INFLOW_DPA_URL", self.dpa_url), ("INFLOW_HIPAA_URL", self.hipaa_url)):
            if url and not url.startswith("https://"):
                raise SettingsError(f"{name} must be an https:// URL, not {url!r}")
        if not self.is_production:
            return
        if self.stripe_api_base and self.stripe_api_base.rstrip("/") != "https://api.stripe.com":
            raise SettingsError("STRIPE_API_BASE is for tests against a local Stripe; unset it in production")
        if self.egress_allow_loopback:
            raise SettingsError("INFLOW_EGRESS_ALLOW_LOOPBACK is for tests and the local demo, not production")
        missing = []
        if not self.keys and not self.key_file:
            missing.append("INFLOW_KEYS (or INFLOW_KEY_FILE) with the encryption keyring")
        if not self.salesforce_client_secret:
            missing.append("SALESFORCE_CLIENT_SECRET (the canvas app's consumer secret)")
        if not self.salesforce_client_id:
            missing.append("SALESFORCE_CLIENT_ID (the canvas app's consumer key)")
        if self.database_url.startswith("sqlite"):
            missing.append("DATABASE_URL pointing at PostgreSQL")
        if not self.redis_url:
            missing.append("REDIS_URL (the embedded Redis serves one machine only)")
        if self.region not in self.region_hosts:
            missing.append(f"INFLOW_REGION_HOSTS naming the database and Redis hosts of {self.region}")
        if missing:
            raise SettingsError("Inflow refuses to start in production without: " + "; ".join(missing))
        self._check_storage_in_region()

    def _check_storage_in_region(self) -> None:
        """Data never leaves its region: the database and Redis must be hosts listed for this region."""
        for name, url in (("DATABASE_URL", self.database_url), ("REDIS_URL", self.redis_url)):
            host = (urlsplit(url).hostname or "").lower()
            if host in self.region_hosts[self.region]:
                continue
            owner = next((r for r, hosts in self.region_hosts.items() if host in hosts), None)
            where = f"it belongs to {owner}" if owner else "it is not listed in INFLOW_REGION_HOSTS"
            raise SettingsError(f"Inflow refuses to start: {name} host {host!r} is not a {self.region} "
                                f"storage host ({where}); data must stay in its region")


PROVIDER_SETTINGS = ("dropbox_client_id", "dropbox_client_secret", "dropbox_auth_url", "dropbox_token_url",
                     "dropbox_api_url", "dropbox_content_url", "google_client_id", "google_client_secret",
                     "google_auth_url", "google_token_url", "google_revoke_url", "google_sheets_url")


def _provider_settings(env: dict[str, str]) -> dict[str, str]:
    """INFLOW_DROPBOX_* and INFLOW_GOOGLE_* when set; the real providers' URLs otherwise."""
    return {name: env[f"INFLOW_{name.upper()}"] for name in PROVIDER_SETTINGS if env.get(f"INFLOW_{name.upper()}")}


def _parse_region_urls(text: str) -> dict[str, str]:
    """`eu-frankfurt=https://eu.example,us-dallas=https://us.example` -> dict."""
    urls = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, url = part.partition("=")
        if name not in REGIONS or not url:
            raise SettingsError(f"INFLOW_REGION_URLS entry {part!r} must look like region=https://host")
        urls[name] = url.rstrip("/")
    return urls


def _parse_region_hosts(text: str) -> dict[str, tuple[str, ...]]:
    """`eu-frankfurt=db.fra.internal,redis.fra.internal;us-dallas=...` -> {region: hosts}."""
    hosts: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, names = part.partition("=")
        listed = tuple(h.strip().lower() for h in names.split(",") if h.strip())
        if name.strip() not in REGIONS or not listed:
            raise SettingsError(f"INFLOW_REGION_HOSTS entry {part!r} must look like region=host,host")
        hosts[name.strip()] = listed
    return hosts
