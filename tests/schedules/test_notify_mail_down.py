"""A mail server that cannot be reached: the notification task raises for RQ to retry (three times, then
only logged), and the run it reports on stays as it finished."""

from __future__ import annotations

import socket

import pytest
from rq import Queue

from backend.extensions import db
from backend.mail import MailError
from backend.models import Run
from backend.models.base import TenantScope
from backend.runs import execute, notify, service
from backend.services import get_redis
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, account, connect, contacts_csv, csv_job


@pytest.fixture
def app_config(app_config: dict) -> dict:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {**app_config, "smtp_port": port}


def test_a_mail_server_that_is_down_raises_for_rqs_retry_and_leaves_the_run_alone(app, make_org):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(2).replace(b"Ann0,Lee0,", b"Ann0,,"), CONTACT_MAPPING,
                  api="rest")
    job.notify_emails = ["ops@example.com"]
    db.session.commit()
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert execute.run_import(run.id) == "partial"
    [task] = [j for j in Queue("maintenance", connection=get_redis()).jobs if j.func_name == notify.EMAIL_TASK]
    assert task.retries_left == 3 and task.retry_intervals == [10, 60, 300]
    with pytest.raises(MailError):
        notify.send_email(run.id)
    assert db.session.get(Run, run.id).state == "partial"
