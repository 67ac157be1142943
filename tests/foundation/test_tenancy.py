"""Every tenant-owned row is reached only through its account; another account's id is 'not found'."""

from __future__ import annotations

import pytest

from backend.models import NotFound, OrgConnection, TenantScope
from backend.models.storage import Blob
from backend.security.crypto import DecryptionError
from backend.services import get_blob_store
from backend.storage.blobs import expiry_for
from tests.foundation.factories import account, tenant_rows


@pytest.mark.promise("tenant-isolation")
def test_each_tenant_model_is_refused_across_accounts(app):
    a, b = account("Alpha"), account("Beta")
    rows_a, rows_b = tenant_rows(a), tenant_rows(b)
    scope_a = TenantScope(a.id)
    for model, row in rows_a.items():
        assert scope_a.get(model, row.id) is row
        with pytest.raises(NotFound):
            scope_a.get(model, rows_b[model].id)
        assert [r.id for r in scope_a.all(model)] == [row.id]


def test_blobs_are_refused_across_accounts(app):
    a, b = account("Alpha"), account("Beta")
    store = get_blob_store()
    blob = store.put(b.id, "result", b"x,y\n1,2\n", expires_at=expiry_for("result", 14))
    with pytest.raises(NotFound):
        store.read_all(a.id, blob.id)
    with pytest.raises(NotFound):
        TenantScope(a.id).get(Blob, blob.id)
    assert store.read_all(b.id, blob.id) == b"x,y\n1,2\n"


@pytest.mark.promise("tenant-isolation")
def test_secrets_decrypt_only_in_their_own_row(app):
    a, b = account("Alpha"), account("Beta")
    org_a, org_b = tenant_rows(a)[OrgConnection], tenant_rows(b)[OrgConnection]
    assert org_a.get_secret("access_token") == "access-Alpha"
    org_b.access_token = org_a.access_token  # an attacker with database access copies a token
    with pytest.raises(DecryptionError):
        org_b.get_secret("access_token")
