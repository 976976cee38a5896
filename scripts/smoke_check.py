"""The check of scripts/smoke: the virtual BMS is added, its entry loads, states arrive.

Talks to the started Home Assistant like the frontend does (onboarding, token,
websocket, config flow API) and prints one line per check.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp

DOMAIN = "jk_bms"
# Entity description keys that must show a number (unique id "<address>_<key>";
# the address has no underscore).
NUMERIC_KEYS = ("state_of_charge", "total_voltage", "current", "cell_voltage_1")


def say(message: str) -> None:
    """Print one line of the smoke run's report."""
    sys.stdout.write(f"smoke: {message}\n")
    sys.stdout.flush()


async def wait_for(what: str, check: Any, within: float) -> Any:
    """Await CHECK() until it returns something truthy, or fail naming WHAT."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        try:
            if result := await check():
                return result
        except aiohttp.ClientError, OSError:
            pass  # not up yet
        await asyncio.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


class Ws:
    """A minimal websocket API client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated websocket."""
        self.ws, self.id = ws, 0

    async def call(self, **message: Any) -> Any:
        self.id += 1
        await self.ws.send_json({"id": self.id, **message})
        while True:
            reply = await self.ws.receive_json()
            if reply.get("id") == self.id and reply.get("type") == "result":
                if not reply["success"]:
                    raise AssertionError(f"{message['type']}: {reply['error']}")
                return reply["result"]


def log_text(log_file: Path) -> str:
    """Home Assistant's log so far."""
    return log_file.read_text(errors="replace")


async def main(base: str, log_file: Path, version: str) -> None:
    """Onboard, add the discovered BMS, check the entry and its states."""
    client_id = base + "/"
    async with aiohttp.ClientSession() as http:
        await wait_for(
            "Home Assistant to start",
            lambda: asyncio.sleep(
                0, "Home Assistant initialized" in log_text(log_file)
            ),
            within=420,
        )
        body = {
            "client_id": client_id,
            "name": "Smoke",
            "username": "smoke",
            "password": "smoke-test-only",
            "language": "en",
        }
        async with http.post(f"{base}/api/onboarding/users", json=body) as reply:
            reply.raise_for_status()
            code = (await reply.json())["auth_code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
        }
        async with http.post(f"{base}/auth/token", data=form) as reply:
            token = (await reply.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with http.ws_connect(f"{base}/api/websocket") as raw:
            await raw.receive_json()
            await raw.send_json({"type": "auth", "access_token": token})
            assert (await raw.receive_json())["type"] == "auth_ok"
            ws = Ws(raw)

            async def discovered() -> list[Any]:
                flows = await ws.call(type="config_entries/flow/progress")
                return [f for f in flows if f["handler"] == DOMAIN]

            flow = (
                await wait_for("the virtual BMS to be discovered", discovered, 120)
            )[0]
            say(f"discovered {flow['context']['title_placeholders']['name']}")
            result: dict[str, Any] = {}
            for _ in range(4):
                async with http.post(
                    f"{base}/api/config/config_entries/flow/{flow['flow_id']}",
                    json={},
                    headers=headers,
                ) as reply:
                    result = await reply.json()
                if result.get("type") != "form":
                    break
            assert result.get("type") == "create_entry", (
                f"the config flow ended with {result}"
            )
            entry_id = result["result"]["entry_id"]

            async def loaded() -> bool:
                entries = await ws.call(type="config_entries/get", domain=DOMAIN)
                return any(
                    e["entry_id"] == entry_id and e["state"] == "loaded"
                    for e in entries
                )

            await wait_for("the entry to load", loaded, 120)
            say("the entry loaded")
            registry = await ws.call(type="config/entity_registry/list")
            mine = {
                e["unique_id"]: e["entity_id"]
                for e in registry
                if e["config_entry_id"] == entry_id
            }
            wanted = {
                key: next(
                    eid for uid, eid in mine.items() if uid.partition("_")[2] == key
                )
                for key in NUMERIC_KEYS
            }

            async def states_arrived() -> dict[str, str] | None:
                states = {
                    s["entity_id"]: s["state"] for s in await ws.call(type="get_states")
                }
                values = {eid: states.get(eid, "") for eid in wanted.values()}
                numeric = all(
                    v.replace(".", "", 1).lstrip("-").isdigit() for v in values.values()
                )
                return values if numeric else None

            values = await wait_for(
                "numeric states of " + ", ".join(wanted.values()), states_arrived, 120
            )
            say(f"states arrived: {values}")
    errors = [
        line
        for line in log_text(log_file).splitlines()
        if " ERROR " in line and "jk_bms" in line
    ]
    assert not errors, f"the integration logged errors: {errors[:3]}"
    say(f"Home Assistant {version}: 1 passed, 0 failed")


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
    except AssertionError as err:
        say(f"FAILED: {err}")
        sys.exit(1)
