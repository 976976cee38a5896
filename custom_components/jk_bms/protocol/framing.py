r"""Frame envelope constants, checksum and the notification stream parser.

The BMS sends 300-byte response frames cut into notifications of any size; an
ack (a 20-byte command-shaped frame), ``AT\\r\\n`` from the BLE module and the
remains of frames truncated by a reconnect are interleaved (protocol doc §1.2,
§2.2, §4, §11.9). The parser therefore treats its input as a byte stream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .enums import FrameType

FRAME_LENGTH = 300
COMMAND_LENGTH = 20
RESPONSE_HEADER = b"\x55\xaa\xeb\x90"
COMMAND_HEADER = b"\xaa\x55\x90\xeb"
HEADER_LENGTH = 4

_KNOWN_TYPES = frozenset(int(t) for t in FrameType)
_NOT_FOUND = -1


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Return the additive 8-bit checksum of ``data`` (sum of all bytes mod 256)."""
    return sum(data) & 0xFF


def has_valid_checksum(data: bytes) -> bool:
    """Tell whether the last byte of ``data`` is the checksum of the bytes before it."""
    return len(data) >= 2 and checksum(data[:-1]) == data[-1]


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One complete 300-byte response frame with a valid checksum and known type."""

    frame_type: FrameType
    counter: int
    data: bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> RawFrame:
        """Build from 300 bytes (header, type, counter, payload, checksum) as received."""
        return cls(FrameType(data[4]), data[5], bytes(data))


@dataclass(frozen=True, slots=True)
class Ack:
    """A 20-byte command-shaped frame sent by the BMS (the ``C8`` acknowledgement)."""

    data: bytes

    @property
    def register(self) -> int:
        """Command byte of the ack (0xC8 for every ack seen so far)."""
        return self.data[4]


@dataclass(slots=True)
class ParserStats:
    """Counters kept by a StreamParser (link diagnostics)."""

    frames: int = 0
    acks: int = 0
    bad_checksum: int = 0
    unknown_type: int = 0
    junk_bytes: int = 0
    truncated: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict (for diagnostics/JSON)."""
        return asdict(self)


@dataclass(slots=True)
class _HeaderCursor:
    """Remembers where a header was last found so long buffers are scanned once."""

    pattern: bytes
    found_at: int = _NOT_FOUND
    searched_to: int = 0

    def next_from(self, buffer: bytearray, position: int) -> int:
        if self.found_at >= position:
            return self.found_at
        start = max(position, self.searched_to)
        index = buffer.find(self.pattern, start)
        self.found_at = index
        # Nothing found: the next search resumes where a header could still begin.
        self.searched_to = (
            index if index >= 0 else max(position, len(buffer) - HEADER_LENGTH + 1)
        )
        return index

    def reset(self) -> None:
        self.found_at = _NOT_FOUND
        self.searched_to = 0


@dataclass(slots=True)
class StreamParser:
    """Turns notification payloads into frames and acks.

    ``feed`` accepts any chunking. It finds headers anywhere, keeps a header split
    across notifications, skips junk, drops frames with a bad checksum or unknown
    type (counted in ``stats``) and resynchronises on a new header inside a
    truncated frame. Between calls at most one partial frame is buffered.
    """

    stats: ParserStats = field(default_factory=ParserStats)
    _buffer: bytearray = field(default_factory=bytearray)
    _response: _HeaderCursor = field(
        default_factory=lambda: _HeaderCursor(RESPONSE_HEADER)
    )
    _command: _HeaderCursor = field(
        default_factory=lambda: _HeaderCursor(COMMAND_HEADER)
    )

    @property
    def buffered(self) -> int:
        """Number of bytes waiting for the rest of a frame."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget buffered bytes (call on disconnect); statistics are kept."""
        self._buffer.clear()
        self._response.reset()
        self._command.reset()

    def feed(self, data: bytes) -> list[RawFrame | Ack]:
        """Add one notification payload; return the frames and acks it completed."""
        buffer = self._buffer
        buffer += data
        if (
            len(buffer) < FRAME_LENGTH
            and buffer.startswith(RESPONSE_HEADER)
            and (len(buffer) <= HEADER_LENGTH or buffer[4] in _KNOWN_TYPES)
        ):
            # A frame in progress (most notifications): nothing in it can end
            # before its 300 bytes are in, when the whole window is checked.
            return []
        results: list[RawFrame | Ack] = []
        position = 0
        while True:
            start = self._next_header(position)
            if start < 0:
                position = self._keep_partial_header(position)
                break
            self.stats.junk_bytes += start - position
            position = start
            if buffer[start] == RESPONSE_HEADER[0]:
                consumed = self._take_response(start, results)
            else:
                consumed = self._take_command(start, results)
            if consumed == 0:
                break  # waiting for more bytes
            position = start + consumed
        del buffer[:position]
        self._response.reset()
        self._command.reset()
        return results

    def _next_header(self, position: int) -> int:
        response = self._response.next_from(self._buffer, position)
        command = self._command.next_from(self._buffer, position)
        if response < 0:
            return command
        if command < 0:
            return response
        return min(response, command)

    def _keep_partial_header(self, position: int) -> int:
        """Drop junk up to a possible header prefix at the end of the buffer."""
        end = len(self._buffer)
        for size in range(min(HEADER_LENGTH - 1, end - position), 0, -1):
            tail = bytes(self._buffer[end - size :])
            if RESPONSE_HEADER.startswith(tail) or COMMAND_HEADER.startswith(tail):
                self.stats.junk_bytes += end - size - position
                return end - size
        self.stats.junk_bytes += end - position
        return end

    def _take_response(self, start: int, results: list[RawFrame | Ack]) -> int:
        """Consume a response frame at ``start``; 0 means wait for more bytes."""
        buffer = self._buffer
        available = len(buffer) - start
        if available <= HEADER_LENGTH:
            return 0
        if buffer[start + 4] not in _KNOWN_TYPES:
            self.stats.unknown_type += 1
            return HEADER_LENGTH
        if available < FRAME_LENGTH:
            return 0
        end = start + FRAME_LENGTH
        # A new header inside the window means this frame was cut off (reconnect).
        # Checked before the checksum: the 8-bit sum of a cut frame glued to the
        # next one matches by chance 1 time in 256, which spliced two frames into
        # one bogus frame (and lost the good one). A real payload holding a
        # 4-byte header is far less likely (benchmarks/parser_fuzz.py).
        inner = self._first_header_within(start + 1, end)
        if inner >= 0:
            self.stats.truncated += 1
            return inner - start
        if checksum(buffer[start : end - 1]) == buffer[end - 1]:
            self.stats.frames += 1
            results.append(RawFrame.from_bytes(bytes(buffer[start:end])))
            return FRAME_LENGTH
        self.stats.bad_checksum += 1
        return HEADER_LENGTH

    def _take_command(self, start: int, results: list[RawFrame | Ack]) -> int:
        """Consume an ack at ``start``; 0 means wait for more bytes."""
        buffer = self._buffer
        if len(buffer) - start < COMMAND_LENGTH:
            return 0
        end = start + COMMAND_LENGTH
        # Same as for frames: an ack cut off by a frame must not swallow its start.
        inner = self._first_header_within(start + 1, end)
        if inner >= 0:
            self.stats.truncated += 1
            return inner - start
        if checksum(buffer[start : end - 1]) == buffer[end - 1]:
            self.stats.acks += 1
            results.append(Ack(bytes(buffer[start:end])))
            return COMMAND_LENGTH
        self.stats.bad_checksum += 1
        return HEADER_LENGTH

    def _first_header_within(self, start: int, end: int) -> int:
        candidates = [
            index
            for pattern in (RESPONSE_HEADER, COMMAND_HEADER)
            if (index := self._buffer.find(pattern, start, end)) >= 0
        ]
        return min(candidates, default=_NOT_FOUND)
