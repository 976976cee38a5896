"""Which BMS events are new and when they happened, on real logbook and cell frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.jk_bms.bms_events import (
    EVENT_TYPE_BY_CODE,
    EVENT_TYPES,
    FALLBACK_READ_INTERVAL_S,
    MIN_READ_INTERVAL_S,
    UNKNOWN,
    AlarmTrips,
    LogbookReads,
    LogbookTracker,
    Marker,
    check_logbook,
)
from custom_components.jk_bms.protocol import (
    FrameType,
    Logbook,
    Variant,
    decode_cell_info,
    decode_logbook,
)
from custom_components.jk_bms.protocol.tables.logbook import (
    ENTRIES_OFFSET,
    ENTRY_SIZE,
    LOGBOOK_CODES,
)
from tests.protocol.vector_data import vectors_where

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# The captured logbook (JK-PB2A16S20P 19.27 faker): boot at 0 s, factory
# setting LFP at 238 s, charge low-temperature protection at 2 514 095 s,
# released at 2 514 136 s.
CAPTURED = vectors_where(frame_type=FrameType.LOGBOOK)[0].data
# The same unit's cell-info frame: its runtime counter.
RUNTIME_S = decode_cell_info(
    next(
        v.data
        for v in vectors_where(frame_type=FrameType.CELL_INFO, variant="JK02_32S")
        if v.raw["device"]
        == {
            "vendor_id": "JK-PB2A16S20P",
            "hardware_version": "19A",
            "software_version": "19.27",
        }
    ),
    Variant.JK02_32S,
).total_runtime


def with_entries(*entries: tuple[int, int], count: int | None = None) -> Logbook:
    """The captured frame with further entries written after its four, as the BMS does."""
    data = bytearray(CAPTURED)
    old = int.from_bytes(data[6:10], "little")
    for index, (stamp, code) in enumerate(entries):
        at = ENTRIES_OFFSET + (old + index) * ENTRY_SIZE
        data[at : at + 4] = stamp.to_bytes(4, "little")
        data[at + 4] = code
    total = old + len(entries) if count is None else count
    data[6:10] = total.to_bytes(4, "little")
    data[-1] = sum(data[:-1]) & 0xFF
    return decode_logbook(bytes(data))


def baseline() -> LogbookTracker:
    tracker = LogbookTracker()
    assert tracker.new_events(decode_logbook(CAPTURED), RUNTIME_S, NOW) == []
    return tracker


def test_runtime_of_the_captured_unit_is_after_its_newest_entry() -> None:
    assert RUNTIME_S == 3_609_276
    assert check_logbook(decode_logbook(CAPTURED), RUNTIME_S) is None


def test_first_logbook_is_the_baseline() -> None:
    tracker = baseline()
    assert tracker.marker == Marker(2_514_136, 0x1C, 1)
    assert tracker.entry_count == 4


def test_new_entry_fires_once_with_its_wall_clock_time() -> None:
    tracker = baseline()
    trip = RUNTIME_S - 90  # 90 s before the cell frame that dates it
    logbook = with_entries((trip, 0x1D))
    (event,) = tracker.new_events(logbook, RUNTIME_S, NOW)
    assert event.event_type == "cell_undervoltage_protection"
    assert event.text == "Cell undervoltage protection"
    assert event.occurred_at == NOW - timedelta(seconds=90)
    assert event.attributes() == {
        "code": 0x1D,
        "event": "Cell undervoltage protection",
        "occurred_at": "2026-12-01T11:58:30+00:00",
        "derived": False,
        "bms_runtime": trip,
    }
    assert tracker.new_events(logbook, RUNTIME_S + 1, NOW) == []


def test_marker_survives_a_restart() -> None:
    tracker = baseline()
    logbook = with_entries((RUNTIME_S - 5, 0x1D))
    assert len(tracker.new_events(logbook, RUNTIME_S, NOW)) == 1
    assert tracker.marker is not None
    restored = LogbookTracker(Marker.from_dict(tracker.marker.as_dict()))
    assert restored.new_events(logbook, RUNTIME_S + 30, NOW) == []
    later = with_entries((RUNTIME_S - 5, 0x1D), (RUNTIME_S + 20, 0x1E))
    (event,) = restored.new_events(later, RUNTIME_S + 30, NOW)
    assert event.event_type == "cell_undervoltage_protection_released"
    assert event.occurred_at == NOW - timedelta(seconds=10)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"runtime_s": 1},
        {"runtime_s": "1", "code": 1, "same_stamp": 1},
        {"runtime_s": True, "code": 1, "same_stamp": 1},
    ],
)
def test_malformed_restore_data_is_no_marker(data: object) -> None:
    assert Marker.from_dict(data) is None


def test_entries_with_the_same_stamp_are_told_apart() -> None:
    tracker = baseline()
    stamp = RUNTIME_S - 2
    first = with_entries((stamp, 0x04))
    assert [e.code for e in tracker.new_events(first, RUNTIME_S, NOW)] == [0x04]
    both = with_entries((stamp, 0x04), (stamp, 0x06))
    assert [e.code for e in tracker.new_events(both, RUNTIME_S, NOW)] == [0x06]
    assert tracker.new_events(both, RUNTIME_S, NOW) == []


def test_unknown_code_fires_as_unknown() -> None:
    tracker = baseline()
    (event,) = tracker.new_events(with_entries((RUNTIME_S, 0x4A)), RUNTIME_S, NOW)
    assert event.event_type == UNKNOWN
    assert event.text == "Unknown event (code 74)"
    assert event.code == 0x4A


def test_cell_codes_fold_into_one_type_with_the_cell() -> None:
    tracker = baseline()
    events = tracker.new_events(
        with_entries((RUNTIME_S, 0x66), (RUNTIME_S, 0xE7)), RUNTIME_S, NOW
    )
    assert [(e.event_type, e.cell, e.text) for e in events] == [
        ("cell_overcharge_protection", 3, "Cell 3 over-charge protection"),
        ("cell_overdischarge_protection", 32, "Cell 32 over-discharge protection"),
    ]
    assert events[0].attributes()["cell"] == 3


def test_entries_out_of_order_are_dropped() -> None:
    """A garbled frame (the 8-bit checksum lets 1 in 256 through) fires nothing."""
    tracker = baseline()
    garbled = with_entries((RUNTIME_S, 0x1D), (17, 0x01))
    assert tracker.new_events(garbled, RUNTIME_S, NOW) == []
    assert tracker.drops == {"entries out of order": 1}
    assert tracker.marker == Marker(2_514_136, 0x1C, 1)


def test_count_beyond_the_frame_reads_what_the_frame_carries() -> None:
    """A count of 200 with four entries: the zero padding is out of order → dropped."""
    tracker = baseline()
    assert tracker.new_events(with_entries(count=200), RUNTIME_S, NOW) == []
    assert tracker.drops == {"entries out of order": 1}


def test_entry_from_the_future_is_dropped() -> None:
    tracker = baseline()
    future = with_entries((RUNTIME_S + 3600, 0x1D))
    assert tracker.new_events(future, RUNTIME_S, NOW) == []
    assert tracker.drops == {"entry newer than the BMS runtime": 1}


def test_count_going_down_fires_only_what_is_newer() -> None:
    """The log was cleared: older entries are not news, newer ones are."""
    tracker = baseline()
    data = bytearray(CAPTURED)
    data[6:10] = (1).to_bytes(4, "little")
    data[-1] = sum(data[:-1]) & 0xFF
    cleared = decode_logbook(bytes(data))
    assert cleared.entry_count == 1
    assert tracker.new_events(cleared, RUNTIME_S, NOW) == []
    assert tracker.entry_count == 1
    assert tracker.marker == Marker(2_514_136, 0x1C, 1)


def test_no_runtime_no_time() -> None:
    tracker = baseline()
    (event,) = tracker.new_events(with_entries((RUNTIME_S, 0x01)), None, NOW)
    assert event.occurred_at is None
    assert event.attributes()["occurred_at"] is None


def test_event_types_one_per_code() -> None:
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
    assert set(EVENT_TYPE_BY_CODE) == set(LOGBOOK_CODES)
    # 2 x 32 per-cell codes fold into two types; one more for unknown codes.
    assert len(EVENT_TYPES) == len(LOGBOOK_CODES) - 64 + 2 + 1
    assert all(t.isidentifier() and t == t.lower() for t in EVENT_TYPES)


# --- derived trips (no logbook) -------------------------------------------------


def _cell_frames(vendor: str) -> list:
    return [
        decode_cell_info(v.data, Variant.JK02_32S)
        for v in vectors_where(frame_type=FrameType.CELL_INFO, variant="JK02_32S")
        if isinstance(v.raw["device"], dict)
        and v.raw["device"].get("vendor_id") == vendor
    ]


def test_alarm_transitions_on_real_frames() -> None:
    """JK_B2A20S20P heating up: charge undertemperature clears in its fifth frame."""
    frames = _cell_frames("JK_B2A20S20P")
    assert "alarm_charge_undertemperature" in frames[0].alarms
    assert "alarm_charge_undertemperature" not in frames[-1].alarms
    trips = AlarmTrips()
    events = [e for frame in frames for e in trips.new_events(frame.alarms, NOW)]
    (event,) = events
    assert event.event_type == "charge_low_temperature_protection_released"
    assert event.derived is True
    assert event.occurred_at == NOW
    assert event.attributes() == {
        "code": 0x1C,
        "event": "Charge low temperature protection is released",
        "occurred_at": NOW.isoformat(),
        "derived": True,
    }


def test_alarm_set_fires_the_logbook_type_and_restore_keeps_quiet() -> None:
    trips = AlarmTrips()
    assert trips.new_events({"alarm_wire_resistance"}, NOW) == []  # baseline
    (event,) = trips.new_events(
        {"alarm_cell_undervoltage", "alarm_wire_resistance"}, NOW
    )
    assert event.event_type == "cell_undervoltage_protection"
    assert trips.last == frozenset({"alarm_cell_undervoltage"})
    restored = AlarmTrips(trips.last)
    assert restored.new_events({"alarm_cell_undervoltage"}, NOW) == []
    # A trip without a release code fires nothing when it clears.
    assert [
        e.event_type for e in restored.new_events({"alarm_discharge_ocp_2"}, NOW)
    ] == [
        "discharge_overcurrent_protection_ii",
        "cell_undervoltage_protection_released",
    ]
    assert restored.new_events(set(), NOW) == []


# --- when to read -----------------------------------------------------------------


def test_reads_at_connect_on_growth_and_rarely_otherwise() -> None:
    reads = LogbookReads()
    assert reads.due(645, 0.0)
    reads.read(0.0)
    assert not reads.due(645, 1.0)
    assert not reads.due(646, 2.0)  # grew, but the last read is too recent
    assert reads.due(646, MIN_READ_INTERVAL_S)
    reads.read(MIN_READ_INTERVAL_S)
    assert not reads.due(646, 100.0)
    assert reads.due(640, 100.0)  # went down: a cleared log or a garbled frame
    reads.read(100.0)
    assert not reads.due(None, 200.0)
    assert reads.due(None, 100.0 + FALLBACK_READ_INTERVAL_S)
    reads.failed(100.0 + FALLBACK_READ_INTERVAL_S)
    assert not reads.due(None, 110.0 + FALLBACK_READ_INTERVAL_S)
    assert reads.due(None, 100.0 + FALLBACK_READ_INTERVAL_S + MIN_READ_INTERVAL_S)
    reads.read(2 * FALLBACK_READ_INTERVAL_S)
    reads.connected()
    assert reads.due(640, 2 * FALLBACK_READ_INTERVAL_S + 1)
