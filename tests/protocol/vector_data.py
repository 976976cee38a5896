"""Load the captured frames copied from shared/vectors (facts from real devices)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from custom_components.jk_bms.protocol import FrameType, Variant

VECTOR_DIR = Path(__file__).parent / "vectors"
FRAME_FILES = (
    "esphome_jk02.json",
    "esphome_jk04.json",
    "esphome_docs_pdus.json",
    "esphome_btsnoop_frames.json",
    "mppsolar_jk.json",
)


@dataclass(frozen=True)
class Vector:
    file: str
    index: int
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.json')}[{self.index}]"

    @property
    def data(self) -> bytes:
        return bytes.fromhex(self.raw["hex"])

    @property
    def frame_type(self) -> FrameType:
        return FrameType(self.raw["frame_type"])

    @property
    def variant(self) -> Variant | None:
        name = self.raw["variant"]
        return Variant(name) if name in Variant.__members__ else None

    @property
    def expected(self) -> dict[str, Any]:
        return self.raw.get("expected") or {}

    @property
    def derived(self) -> dict[str, Any]:
        return self.raw.get("derived") or {}


@cache
def load(name: str) -> dict[str, Any]:
    with (VECTOR_DIR / name).open(encoding="utf-8") as handle:
        result: dict[str, Any] = json.load(handle)
    return result


@cache
def all_vectors() -> tuple[Vector, ...]:
    return tuple(
        Vector(name, index, raw)
        for name in FRAME_FILES
        for index, raw in enumerate(load(name)["vectors"])
    )


def vectors_where(**conditions: Any) -> list[Vector]:
    return [
        vector
        for vector in all_vectors()
        if all(vector.raw.get(key) == value for key, value in conditions.items())
    ]
