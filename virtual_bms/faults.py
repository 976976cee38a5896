"""Fault knobs: the misbehaviour real users meet, switched on by tests or by hand."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Faults:
    """What the virtual BMS does wrong. Change fields at any time; they act at once.

    Link drops are actions, not flags: ``VirtualJkBms.drop_link()`` (optionally in
    the middle of the next frame).
    """

    # The BLE module ignores connection requests (out of range, hung module).
    refuse_connections: bool = False
    # Another central (the JK app on a phone) holds the only link.
    other_central_connected: bool = False
    # 19.3x firmware with BlueZ: no link without bonding (pair=True).
    require_pairing: bool = False
    # Cell-info frames stop although the link stays up.
    stop_streaming: bool = False
    # The next N frames (any type) go out with one payload byte flipped: bad checksum.
    corrupt_next_frames: int = 0
    # The next N cell-info frames read 9.9 V on cell 1 with a recomputed checksum:
    # what the 1 garbled frame in 256 that passes the 8-bit checksum looks like.
    garble_next_cell_frames: int = 0
    # Single-bit flips with a recomputed checksum, one per frame of the given type
    # (frame type byte, byte offset, bit): the next such frame carries it. A
    # current's bit 24 reads 16,844 A; settings byte 20 bit 0 reads Cell OVP 69 V.
    flip_bits: list[tuple[int, int, int]] = field(default_factory=list)
    # Acks arrive this much later than the frame they follow.
    ack_delay_s: float = 0.0
    # The next N acks are never sent.
    skip_next_acks: int = 0
    # No ack at all, ever.
    skip_all_acks: bool = False
    # The next frame is cut after this many bytes, then the link drops.
    drop_after_bytes: int | None = None

    def take_corruption(self) -> bool:
        """Consume one pending corruption; True when this frame must be corrupted."""
        if self.corrupt_next_frames > 0:
            self.corrupt_next_frames -= 1
            return True
        return False

    def take_garbling(self) -> bool:
        """Consume one pending garbling; True when this cell frame must be garbled."""
        if self.garble_next_cell_frames > 0:
            self.garble_next_cell_frames -= 1
            return True
        return False

    def take_flip(self, frame_type: int) -> tuple[int, int] | None:
        """Consume the first pending flip for ``frame_type``: (offset, bit)."""
        for index, (kind, offset, bit) in enumerate(self.flip_bits):
            if kind == frame_type:
                del self.flip_bits[index]
                return offset, bit
        return None

    def take_ack(self) -> bool:
        """Consume one ack slot; True when the ack must be sent."""
        if self.skip_all_acks:
            return False
        if self.skip_next_acks > 0:
            self.skip_next_acks -= 1
            return False
        return True
