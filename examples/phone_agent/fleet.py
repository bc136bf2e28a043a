"""A worker's part in a fleet sharing one store: it renews the leases of the calls it holds,
and takes over the calls whose lease ran out (their worker died) or was given up (their
worker is stopping).

Every ``lease / 3`` seconds the worker renews its leases in one step (a lease lost to another
worker lets that call go) and answers tool calls left on its calls by others. Meanwhile it
waits for a call handed over and, between them, looks for calls nobody owns; the first worker
to take one (an atomic step in the store) joins the call's sideband.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from calls import Switchboard, short_id
from store import CallStore, StoreUnavailable

LOG = logging.getLogger("phone_agent")


def worker_id() -> str:
    """A name for this worker, unique in the fleet: host, process and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"


class FleetMember:
    """The lease renewer and the takeover watcher of one worker, on two threads."""

    def __init__(self, switchboard: Switchboard, store: CallStore, lease_seconds: float) -> None:
        self.switchboard = switchboard
        self.store = store
        self.owner = switchboard.settings.owner
        self.lease = lease_seconds
        self.interval = lease_seconds / 3
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._renew_loop, name="fleet-renew", daemon=True),
            threading.Thread(target=self._watch_loop, name="fleet-watch", daemon=True),
        ]
        self._store_down = False

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Take no more calls; the leases of calls still held are renewed until handed over."""
        self._stopping.set()

    def _renew_loop(self) -> None:
        while True:
            try:
                held = self.switchboard.held()
                for call_id in self.store.renew(held, self.owner, self.lease):
                    LOG.warning("call %s: lease lost to another worker", short_id(call_id))
                    self.switchboard.lost(call_id)
                self._reachable(True)
                self.switchboard.answer_orphans()
            except StoreUnavailable:
                self._reachable(False)
            if self._stopping.wait(self.interval) and not self.switchboard.held():
                return

    def _watch_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                handed = self.store.next_handed_over(self.interval)
                for call_id in [handed] if handed else self.store.unowned():
                    self._take(call_id, handed_over=bool(handed))
            except StoreUnavailable:
                self._stopping.wait(self.interval)

    def _take(self, call_id: str, handed_over: bool) -> None:
        if self._stopping.is_set():
            if handed_over:  # for another worker, maybe one of this worker's own calls
                self.store.announce(call_id)
            return
        if self.store.take(call_id, self.owner, self.lease):
            self.switchboard.adopt(call_id)

    def _reachable(self, reachable: bool) -> None:
        """Say once when the store goes away and when it is back."""
        if reachable == self._store_down:
            self._store_down = not reachable
            if reachable:
                LOG.warning("the store is back")
            else:
                LOG.error("the store is unavailable: new calls are refused, calls held go on")
