"""The bakery the phone agent answers for: its instructions and the Python functions the model
may call. Replace this module with your own business; nothing else needs to change."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Literal

INSTRUCTIONS = (
    "You answer the phone for Rosa's Bakery. Greet the caller briefly. Use the tools for "
    "opening hours and order status rather than guessing. When the caller asks for a person, "
    "or you cannot help, say you are transferring them, then call transfer_to_person. "
    "Keep every answer to one or two short sentences."
)

Day = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

HOURS: dict[str, str] = {
    "monday": "closed",
    "tuesday": "7:00 to 18:00",
    "wednesday": "7:00 to 18:00",
    "thursday": "7:00 to 18:00",
    "friday": "7:00 to 19:00",
    "saturday": "8:00 to 14:00",
    "sunday": "8:00 to 12:00",
}

#: Seconds the order system takes to answer (``BAKERY_ORDER_SECONDS``; 0 by default): set it
#: to watch a tool call survive its worker's death.
ORDER_SYSTEM_SECONDS = float(os.environ.get("BAKERY_ORDER_SECONDS") or 0)
#: The tools safe to run twice (they only read): a worker taking a call over runs such a call
#: again when the worker running it died; any other call is answered "ask again".
IDEMPOTENT_TOOLS = frozenset({"opening_hours", "order_status"})
#: Orders by number; a real bakery would ask its order system.
ORDERS: dict[int, str] = {
    42: "Order 42, two sourdough loaves and a lemon tart, is ready for pick-up at the counter.",
    7: "Order 7, a birthday cake for Saturday, is in the oven.",
}


def opening_hours(day: Day) -> str:
    """The bakery's opening hours on a day of the week."""
    hours = HOURS[day]
    return f"Closed on {day.title()}." if hours == "closed" else f"{day.title()}: {hours}."


def order_status(order_number: int) -> str:
    """Where a customer's order stands, by its order number."""
    time.sleep(ORDER_SYSTEM_SECONDS)
    return ORDERS.get(order_number, f"There is no order {order_number}; please check the number.")


def transfer_tool(transfer: Callable[[], None]) -> Callable[[str], str]:
    """The ``transfer_to_person`` tool of one call: it asks ``transfer`` to hand the call over
    once the model has said so to the caller."""

    def transfer_to_person(reason: str) -> str:
        """Transfer the caller to a person at the bakery, after telling them so."""
        transfer()
        return "The transfer is arranged: say goodbye in one sentence."

    return transfer_to_person


def tools(transfer: Callable[[], None]) -> list[Callable[..., str]]:
    """Every tool of one call, ``transfer`` handing it to a person."""
    return [opening_hours, order_status, transfer_tool(transfer)]
