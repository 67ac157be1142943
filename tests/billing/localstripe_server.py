"""localstripe (the stateful fake Stripe server from PyPI) on a given port, plus the two endpoints it lacks.

localstripe has no Checkout Sessions and no Customer Portal. The two routes added here answer them the way
Stripe documents: a session object with a `url`, and for Checkout Stripe's idempotency rule (a repeated
`Idempotency-Key` gets the first answer back, nothing is created twice). `/_test/checkout` tells the tests
what arrived and can hold the first answer back longer than the client waits (a timeout at Stripe).
Nothing is written to disk: localstripe would otherwise pickle its store into /tmp.

Usage: python -m tests.billing.localstripe_server PORT
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None  # keep the fake's state (it holds test card numbers) in memory

checkout = {"keys": [], "sessions": {}, "by_key": {}, "delay_first": 0.0, "portal": []}


async def create_checkout_session(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    key = request.headers.get("Idempotency-Key", "")
    checkout["keys"].append(key)
    if key and key in checkout["by_key"]:
        return server.json_response(checkout["by_key"][key])
    if data.get("customer"):
        resources.Customer._api_retrieve(data["customer"])  # 404 for an unknown customer, as Stripe answers
    session_id = f"cs_test_{secrets.token_hex(12)}"
    session = {"id": session_id, "object": "checkout.session", "mode": data.get("mode"),
               "url": f"https://checkout.stripe.com/c/pay/{session_id}", "customer": data.get("customer"),
               "customer_email": data.get("customer_email"), "client_reference_id": data.get("client_reference_id"),
               "line_items_sent": data.get("line_items"), "metadata": data.get("metadata") or {},
               "subscription_data_sent": data.get("subscription_data") or {},
               "success_url": data.get("success_url"), "cancel_url": data.get("cancel_url")}
    checkout["sessions"][session_id] = session
    if key:
        checkout["by_key"][key] = session
    if checkout["delay_first"]:
        delay, checkout["delay_first"] = checkout["delay_first"], 0.0
        await asyncio.sleep(delay)  # done at "Stripe", but the answer comes after the client gave up
    return server.json_response(session)


async def create_portal_session(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    resources.Customer._api_retrieve(data.get("customer") or "")
    session = {"id": f"bps_{secrets.token_hex(12)}", "object": "billing_portal.session",
               "customer": data["customer"], "return_url": data.get("return_url"),
               "url": f"https://billing.stripe.com/p/session/test_{secrets.token_hex(8)}"}
    checkout["portal"].append(session)
    return server.json_response(session)


async def test_state(request: web.Request) -> web.Response:
    if request.method == "POST":
        checkout["delay_first"] = float((await request.json()).get("delay_first", 0))
        return web.json_response({})
    return web.json_response({"keys": checkout["keys"], "sessions": list(checkout["sessions"].values()),
                              "portal": checkout["portal"]})


def main(port: int) -> None:
    server.app.router.add_post("/v1/checkout/sessions", create_checkout_session)
    server.app.router.add_post("/v1/billing_portal/sessions", create_portal_session)
    server.app.router.add_route("*", "/_config/test/checkout", test_state)  # /_config/ needs no API key
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    web.run_app(server.app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
