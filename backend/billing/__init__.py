"""Billing: plans and the one gate (`plans.plan_for`), usage per period, Stripe Checkout, Portal and webhooks."""
