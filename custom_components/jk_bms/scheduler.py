"""Connection turns per Bluetooth proxy: BMS that poll share a proxy's few slots.

An ESPHome proxy has about three connection slots. Twelve BMS in poll mode
that all connect when their interval is up would mostly fail with
``BleakOutOfConnectionSlotsError`` (and go unavailable). Instead, a link session
asks this scheduler for a *turn* before it connects, holds it while it is
connected (a poll, a write between polls, a stream for as long as it lasts), and
gives it back once it has disconnected. Turns are handed out per
source (the proxy or adapter the BMS is reachable through), oldest request
first, as long as the source has a free slot.

The slot count and the connections of others (other integrations, streaming
BMS) come from Home Assistant's Bluetooth manager (habluetooth allocations);
a source that has not reported them counts as ``DEFAULT_SLOTS``. A streaming
BMS can ask to *leave a slot free*: its turn is only granted while at least one
more slot stays free, so a permanent link never takes a proxy's last slot.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from habluetooth import HaBluetoothSlotAllocations, get_manager
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .const import CONF_LEAVE_SLOT_FREE, DEFAULT_LEAVE_SLOT_FREE, DOMAIN
from .protocol import NoFreeSlotError

_LOGGER = logging.getLogger(__name__)

DATA_SCHEDULER: HassKey[ConnectionScheduler] = HassKey(f"{DOMAIN}_scheduler")

# Slots of a source that has not reported allocations (an ESPHome proxy has 3).
DEFAULT_SLOTS: Final = 3
# How long a coordinator waits for its turn before the poll counts as failed.
DEFAULT_TURN_TIMEOUT: Final = 120.0  # s
# A streaming BMS waits less: slots held by other streams do not come back soon,
# and a set-up that waits long holds up Home Assistant's start.
STREAM_TURN_TIMEOUT: Final = 30.0  # s


class NoTurnError(NoFreeSlotError):
    """No connection slot became free in time (repairs: no connection slot)."""


@dataclass(order=True, slots=True)
class _Waiter:
    """A request for a turn; ordered by when it became due, then by arrival."""

    due: float
    sequence: int
    address: str = field(compare=False)
    needs_free: int = field(compare=False)
    granted: asyncio.Future[None] = field(compare=False)


@dataclass(slots=True)
class _Source:
    """Turns held and requested on one proxy or adapter."""

    holders: list[str] = field(default_factory=list)
    waiters: list[_Waiter] = field(default_factory=list)  # a heap
    granted: int = 0
    waited: int = 0
    longest_wait: float = 0.0


class ConnectionScheduler:
    """Hands out connection turns per Bluetooth source."""

    def __init__(self, hass: HomeAssistant, default_slots: int = DEFAULT_SLOTS) -> None:
        """Start empty; sources appear as BMS ask for turns."""
        self.hass = hass
        self.default_slots = default_slots
        self._sources: dict[str, _Source] = {}
        self._sequence = itertools.count()
        self._unsub_allocations: CALLBACK_TYPE | None = None

    # ----------------------------------------------------------- what we know

    def source_of(self, address: str) -> str | None:
        """Return the source (proxy/adapter) ``address`` is best reached through."""
        if device := bluetooth.async_ble_device_from_address(
            self.hass, address, connectable=True
        ):
            details = device.details
            if isinstance(details, dict) and isinstance(
                source := details.get("source"), str
            ):
                return source
        if info := bluetooth.async_last_service_info(
            self.hass, address, connectable=True
        ):
            return info.source
        return None

    def _allocations(self, source: str) -> HaBluetoothSlotAllocations | None:
        try:
            current = get_manager().async_current_allocations(source)
        except RuntimeError:  # Bluetooth not set up (yet)
            return None
        # slots == 0 means "not reported yet", not "exhausted".
        return next((a for a in current or () if a.slots > 0), None)

    def slots(self, source: str) -> int:
        """Return the connection slots of ``source`` (reported, else the default)."""
        allocations = self._allocations(source)
        return allocations.slots if allocations else self.default_slots

    def free(self, source: str) -> int:
        """Slots of ``source`` neither held by a turn nor used by anyone else."""
        state = self._sources.get(source)
        holders = {a.upper() for a in state.holders} if state else set()
        allocations = self._allocations(source)
        if allocations is None:
            return self.default_slots - len(holders)
        # Our holders may or may not show up as allocated yet (connecting):
        # count them once, plus every other connection the proxy reports.
        others = {a.upper() for a in allocations.allocated} - holders
        return allocations.slots - len(holders) - len(others)

    def stats(self) -> dict[str, dict[str, float | int]]:
        """Per-source counters (diagnostics and the bench report)."""
        return {
            source: {
                "slots": self.slots(source),
                "free": self.free(source),
                "holding": len(state.holders),
                "waiting": len(state.waiters),
                "granted": state.granted,
                "waited": state.waited,
                "longest_wait_s": round(state.longest_wait, 3),
            }
            for source, state in self._sources.items()
        }

    # ------------------------------------------------------------------ turns

    @asynccontextmanager
    async def turn(
        self,
        address: str,
        *,
        leave_free: int = 0,
        due: float | None = None,
        max_wait: float = DEFAULT_TURN_TIMEOUT,
    ) -> AsyncIterator[None]:
        """Hold a connection turn on the source ``address`` is reached through.

        ``leave_free`` slots must stay free after this turn is granted (for a
        streaming BMS that would otherwise hold a slot for good). ``due`` is
        when the caller's work became due (loop time; default now): the oldest
        due request goes first. Raises ``NoTurnError`` after ``max_wait`` s.
        """
        source = self.source_of(address)
        if source is None:
            # Not reachable at all: the connect attempt reports why.
            yield
            return
        state = self._sources.setdefault(source, _Source())
        self._watch_allocations()
        loop = self.hass.loop
        requested = loop.time()
        waiter = _Waiter(
            due=requested if due is None else due,
            sequence=next(self._sequence),
            address=address,
            needs_free=1 + leave_free,
            granted=loop.create_future(),
        )
        heapq.heappush(state.waiters, waiter)
        self._grant(source)
        if not waiter.granted.done():
            state.waited += 1
            try:
                async with asyncio.timeout(max_wait):
                    await asyncio.shield(waiter.granted)
            except (TimeoutError, asyncio.CancelledError) as err:
                self._abandon(source, waiter)
                if isinstance(err, asyncio.CancelledError):
                    raise
                raise NoTurnError(
                    f"no connection slot of {source} became free in {max_wait:g} s"
                ) from err
            state.longest_wait = max(state.longest_wait, loop.time() - requested)
        try:
            yield
        finally:
            state.holders.remove(address)
            self._grant(source)

    def _abandon(self, source: str, waiter: _Waiter) -> None:
        """Withdraw a request (timeout, cancel); give back a turn granted meanwhile."""
        state = self._sources[source]
        if waiter in state.waiters:
            state.waiters.remove(waiter)
            heapq.heapify(state.waiters)
        elif waiter.granted.done():
            state.holders.remove(waiter.address)
        self._grant(source)

    @callback
    def _grant(self, source: str) -> None:
        """Hand turns to the oldest requests while the source has room.

        Strictly in order: a request that needs two free slots (leave one free)
        is not overtaken, otherwise a streaming BMS could wait for ever.
        """
        state = self._sources[source]
        slots = self.slots(source)
        while state.waiters:
            head = state.waiters[0]
            # Never ask for more than the source has (1 slot, leave 1 free).
            needed = min(head.needs_free, max(slots, 1))
            if self.free(source) < needed:
                return
            heapq.heappop(state.waiters)
            state.holders.append(head.address)
            state.granted += 1
            head.granted.set_result(None)

    # ------------------------------------------------ allocation changes (proxy)

    def _watch_allocations(self) -> None:
        if self._unsub_allocations is not None:
            return
        try:
            manager = get_manager()
        except RuntimeError:
            return
        self._unsub_allocations = manager.async_register_allocation_callback(
            self._on_allocations
        )

    @callback
    def _on_allocations(self, allocations: HaBluetoothSlotAllocations) -> None:
        """Grant waiting turns when a proxy reports its slots (one may have freed)."""
        if allocations.source in self._sources:
            self._grant(allocations.source)

    @callback
    def async_shutdown(self) -> None:
        """Stop listening to the manager (the last entry unloaded)."""
        if self._unsub_allocations is not None:
            self._unsub_allocations()
            self._unsub_allocations = None


@callback
def async_get_scheduler(hass: HomeAssistant) -> ConnectionScheduler:
    """Return the one scheduler of this Home Assistant instance."""
    if (scheduler := hass.data.get(DATA_SCHEDULER)) is None:
        scheduler = hass.data[DATA_SCHEDULER] = ConnectionScheduler(hass)
    return scheduler


def async_connection_turn(
    hass: HomeAssistant,
    address: str,
    options: Mapping[str, Any],
    *,
    streaming: bool,
    poll_interval: float,
) -> AbstractAsyncContextManager[None]:
    """Return the turn a link session holds from before connecting until it is down.

    A poll waits at most one poll interval; a stream leaves a slot free when
    its entry asks. While held, the BMS counts once: as a holder here, not again
    when the proxy reports it among its allocations.
    """
    leave_free = bool(options.get(CONF_LEAVE_SLOT_FREE, DEFAULT_LEAVE_SLOT_FREE))
    return async_get_scheduler(hass).turn(
        address,
        leave_free=1 if streaming and leave_free else 0,
        max_wait=STREAM_TURN_TIMEOUT if streaming else poll_interval,
    )
