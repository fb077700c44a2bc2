#!/usr/bin/env python3
"""A reference order service for StoreHub: it answers pickup scans on the kiosk's screen.

It keeps a durable subscription on `scan.>` (consumer name `order-service`), looks each pickup code up in an
orders file, answers on `display.<device>`, marks the order collected once, and acknowledges a scan only after
its answer was accepted. Each answer carries an `id` derived from the scan's sequence, so a scan delivered again
after a crash is answered again with the same id and the hub keeps only the first answer: every scan is answered
exactly once on screen. See README.md beside this file.

    python order_service.py --url ws://127.0.0.1:8080/api/v1/bus --orders orders.json --state state.json
    (token in STOREHUB_TOKEN: a `service` token, `storehub token create --role service --label order-service`)
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

CONSUMER = "order-service"
log = logging.getLogger("order-service")

# What the screen says, per language. The kiosk picks its own language from these.
TEXTS = {
    "ready": {"en": "Your order is ready", "fr": "Votre commande est prête", "de": "Ihre Bestellung ist da"},
    "ready_body": {"en": "{customer}, please collect it at the counter.",
                   "fr": "{customer}, retirez-la au comptoir.",
                   "de": "{customer}, bitte holen Sie sie an der Theke ab."},
    "collected": {"en": "Already collected", "fr": "Déjà retirée", "de": "Bereits abgeholt"},
    "collected_body": {"en": "This order was handed over earlier. Please ask at the counter.",
                       "fr": "Cette commande a déjà été remise. Adressez-vous au comptoir.",
                       "de": "Diese Bestellung wurde schon ausgegeben. Bitte fragen Sie an der Theke."},
    "unknown": {"en": "Order not found", "fr": "Commande introuvable", "de": "Bestellung nicht gefunden"},
    "invalid": {"en": "This code is not valid", "fr": "Ce code n'est pas valable", "de": "Dieser Code ist ungültig"},
    "expired": {"en": "This code has expired", "fr": "Ce code a expiré", "de": "Dieser Code ist abgelaufen"},
    "ask": {"en": "Please ask at the counter.", "fr": "Adressez-vous au comptoir.",
            "de": "Bitte fragen Sie an der Theke."},
}


def text(key, **values):
    return {language: phrase.format(**values) for language, phrase in TEXTS[key].items()}


class Orders:
    """The orders file (read once) and which orders were handed over (a small JSON state file, written
    atomically before each answer that hands one over)."""

    def __init__(self, orders_path, state_path):
        orders = json.loads(Path(orders_path).read_text(encoding="utf-8"))["orders"]
        self.by_id = {order["id"]: order for order in orders}
        self.by_code = {order["code"]: order for order in orders if order.get("code")}
        self.state_path = Path(state_path)
        self.collected = {}
        if self.state_path.exists():
            self.collected = json.loads(self.state_path.read_text(encoding="utf-8"))["collected"]

    def find(self, scan):
        """The order a scan names, and why not when it names none (None: not a pickup code at all)."""
        pickup = scan.get("pickup")
        if pickup is not None:
            if pickup.get("reason") in ("forged", "malformed", "unknownKey"):
                return None, "invalid"
            if pickup.get("reason") == "expired":
                return None, "expired"
            order = self.by_id.get(pickup.get("orderId"))
            return (order, None) if order else (None, "unknown")
        order = self.by_code.get(scan.get("text"))
        if order:
            return order, None
        if scan.get("class") == "pickup-order" or str(scan.get("text", "")).startswith("SHP1."):
            return None, "unknown"
        return None, None

    def hand_over(self, order_id, sequence):
        """Marks the order collected by the scan `sequence`; false when another scan collected it before."""
        first = self.collected.get(order_id)
        if first is not None:
            return first == sequence
        self.collected[order_id] = sequence
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"collected": self.collected}), encoding="utf-8")
        os.replace(temporary, self.state_path)
        return True


def answer_for(orders, sequence, scan):
    """The display message for one scan, or None when the scan is not a pickup code."""
    order, problem = orders.find(scan)
    if order is None and problem is None:
        return None
    message = {"answers": sequence, "ttlSeconds": 8}
    if order is None:
        message.update(state="error", title=text(problem), body=text("ask"))
    elif orders.hand_over(order["id"], sequence):
        message.update(state="ok", title=text("ready"), body=text("ready_body", customer=order["customer"]),
                       items=order.get("items", [])[:20])
    else:
        message.update(state="warning", title=text("collected"), body=text("collected_body"))
    return message


async def serve(url, token, orders, delay):
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(url, additional_headers=headers, proxy=None, open_timeout=10) as ws:
        await ws.send(json.dumps({"op": "subscribe", "id": "scans", "topic": "scan.>", "durable": CONSUMER,
                                  "window": 16}))
        pending = {}  # ref -> (sequence, future)
        answered = asyncio.Queue()

        async def reader():
            async for raw in ws:
                message = json.loads(raw)
                op = message.get("op")
                if op == "event":
                    await answered.put(message["event"])
                elif op in ("published", "error") and message.get("ref") in pending:
                    pending.pop(message["ref"]).set_result(message)
                elif op == "error":
                    log.warning("hub: %s", message)
                elif op == "subscribed":
                    log.info("subscribed as %s from sequence %s", CONSUMER, message.get("from"))

        reading = asyncio.create_task(reader())
        try:
            while True:
                getter = asyncio.create_task(answered.get())
                done, _ = await asyncio.wait({getter, reading}, return_when=asyncio.FIRST_COMPLETED)
                if reading in done:
                    getter.cancel()
                    reading.result()
                    return
                event = getter.result()
                sequence = event["sequence"]
                device = event["data"]["device"]
                message = answer_for(orders, sequence, event["data"])
                if message is not None:
                    if delay:
                        await asyncio.sleep(delay)
                    ref = f"answer-{sequence}"
                    future = asyncio.get_running_loop().create_future()
                    pending[ref] = future
                    # The id makes a repeat harmless: after a crash the same scan comes again and gets the same id.
                    await ws.send(json.dumps({"op": "publish", "topic": f"display.{device}", "type": "shop.pickup.answer",
                                              "data": message, "id": f"pickup-answer-{sequence}", "ref": ref}))
                    reply = await asyncio.wait_for(future, 30)
                    if reply["op"] != "published":
                        log.error("answer to scan %s refused: %s", sequence, reply)
                        raise SystemExit(1)
                    log.info("scan %s on %s: %s%s", sequence, device, message["state"],
                             " (repeat)" if reply.get("duplicate") else "")
                await ws.send(json.dumps({"op": "ack", "durable": CONSUMER, "sequence": sequence}))
        finally:
            reading.cancel()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8080/api/v1/bus")
    parser.add_argument("--orders", default=str(Path(__file__).with_name("orders.json")))
    parser.add_argument("--state", default="order-service-state.json", help="which orders were handed over")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer (tests)")
    args = parser.parse_args()
    token = os.environ.get("STOREHUB_TOKEN")
    if not token:
        sys.exit("order-service: set STOREHUB_TOKEN to a service token")
    logging.basicConfig(level=logging.INFO, format="order-service: %(message)s", stream=sys.stdout)
    orders = Orders(args.orders, args.state)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("%d orders, %d handed over so far", len(orders.by_id), len(orders.collected))
    while not stop.is_set():
        task = asyncio.create_task(serve(args.url, token, orders, args.delay))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            task.cancel()
            break
        stopper.cancel()
        try:
            task.result()
        except (OSError, ConnectionClosed, asyncio.TimeoutError) as error:
            log.warning("connection to the hub lost (%s); reconnecting in 1 s", error)
        await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main())
