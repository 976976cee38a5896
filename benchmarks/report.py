"""docs/performance.md: machine, versions, figures and method notes."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
SOAK_HEADING = "## Soak"


def machine() -> str:
    """CPU model, cores, RAM, OS, and the versions that matter."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("homeassistant", "habluetooth", "bleak", "bleak-retry-connector")
    )
    return (
        f"* Machine: {cpu}, {cores} cores available, {ram} RAM, "
        f"{platform.system()} {platform.release()}\n"
        f"* Python {platform.python_version()}; {versions}\n"
        f"* Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def existing_soak() -> str:
    """Return the soak section of the current report (scripts/soak writes it), if any."""
    if not REPORT.exists():
        return ""
    text = REPORT.read_text(encoding="utf-8")
    index = text.find(SOAK_HEADING)
    return text[index:] if index >= 0 else ""


def write(body: str) -> None:
    """Write the bench part, keeping the soak section."""
    soak = existing_soak()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(body.rstrip() + "\n\n" + (soak or ""), encoding="utf-8")


def write_soak(section: str) -> None:
    """Replace (or add) the soak section."""
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Performance\n"
    text = re.sub(rf"\n{SOAK_HEADING}.*", "\n", text, flags=re.DOTALL).rstrip()
    REPORT.write_text(text + "\n\n" + section.rstrip() + "\n", encoding="utf-8")


def table(header: list[str], rows: list[list[str]]) -> str:
    """Return a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
