"""The command-line decoder prints every field as JSON."""

from __future__ import annotations

import json

import pytest

from custom_components.jk_bms.protocol.cli import main, parse_hex

from .vector_data import vectors_where


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["decode", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_stream_with_device_info_sets_the_variant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    info, cell = (
        next(v for v in vectors_where(variant="JK02_32S", frame_type=t) if v.expected)
        for t in (3, 2)
    )
    cell_hex = cell.raw["hex"]
    report = run(
        capsys,
        info.raw["hex"],
        cell_hex[:256],
        cell_hex[256:] + "aa5590ebc8010100000000000000000000000044",
    )
    types = [frame["type"] for frame in report["frames"]]
    assert types == ["device_info", "cell_info", "ack"]
    decoded = report["frames"][1]
    assert decoded["variant"] == "JK02_32S"
    assert decoded["variant_source"] == "device_info"
    assert decoded["values"]["total_voltage"] == cell.expected["total_voltage"]
    assert "pin" not in json.dumps(report["frames"][0])


def test_hex_with_spaces_and_colons_and_given_variant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    vector = next(v for v in vectors_where(variant="JK04", frame_type=2) if v.expected)
    text = ":".join(vector.raw["hex"][i : i + 2] for i in range(0, 600, 2))
    report = run(capsys, "--variant", "JK04", text)
    frame = report["frames"][0]
    assert frame["variant_source"] == "given"
    assert frame["values"]["cell_count"] == vector.expected["cells_active"]


def test_frame_shape_is_the_fallback(capsys: pytest.CaptureFixture[str]) -> None:
    vector = next(
        v for v in vectors_where(variant="JK02_24S", frame_type=2) if v.expected
    )
    frame = run(capsys, vector.raw["hex"])["frames"][0]
    assert (frame["variant"], frame["variant_source"]) == ("JK02_24S", "frame_shape")


def test_no_frame_is_exit_code_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "41540d0a"]) == 1
    assert json.loads(capsys.readouterr().out)["stats"]["junk_bytes"] == 4


def test_parse_hex_accepts_common_spellings() -> None:
    assert parse_hex("0xAA 55:90-eb") == b"\xaa\x55\x90\xeb"
