"""`flask --app backend billing plans | usage ACCOUNT`: the plans on offer, and an account's usage this period."""

from __future__ import annotations

import click
from sqlalchemy import select

from backend.billing.plans import PLANS, billing_record, price_id
from backend.billing.usage import usage_for
from backend.extensions import db
from backend.models.accounts import Account


@click.group("billing", help="Plans and usage.")
def billing_group() -> None:
    pass


@billing_group.command("plans", help="Print the plans: rows a month, schedules, connectors, Stripe Price id.")
def plans_command() -> None:
    click.echo(f"{'plan':<10} {'rows/month':>12}  {'schedules':<9}  {'connectors':<10}  price")
    for plan in PLANS.values():
        price = price_id(plan) or ("-" if plan.price_setting is None else f"(set {plan.price_setting.upper()})")
        click.echo(f"{plan.name:<10} {plan.monthly_rows:>12,}  {'yes' if plan.schedules else 'no':<9}  "
                   f"{'yes' if plan.connectors else 'no':<10}  {price}")


@billing_group.command("usage", help="Print an account's processed rows this billing period (ACCOUNT: id or company).")
@click.argument("account")
def usage_command(account: str) -> None:
    found = db.session.get(Account, account) or _by_company(account)
    usage = usage_for(found.id)
    billing = billing_record(found.id)
    click.echo(f"account   {found.id} ({found.company})")
    click.echo(f"plan      {usage.plan.name}" + (f" (subscription {billing.subscription_status})"
                                                  if billing and billing.subscription_status else ""))
    click.echo(f"period    {usage.start:%Y-%m-%d} to {usage.end:%Y-%m-%d}")
    click.echo(f"used      {usage.used:,} of {usage.plan.monthly_rows:,} rows ({usage.left:,} left)")


def _by_company(name: str) -> Account:
    matches = db.session.scalars(select(Account).where(Account.company == name)).all()
    if len(matches) != 1:
        raise click.ClickException(f"no account {name!r}" if not matches else
                                   f"{len(matches)} accounts are called {name!r}; give the account id")
    return matches[0]
