# shellcheck shell=bash
# Run by scripts/test-library inside the project environment (uv, python3.14).
set -euo pipefail
repo="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The sources as they are in the tree, without caches.
mkdir -p "$work/src" "$work/check/tests"
tar --exclude=__pycache__ -cf - library custom_components/jk_bms/protocol | tar -xf - -C "$work/src"
uv build --quiet --wheel --out-dir "$work/dist" "$work/src/library"
wheel="$(ls "$work"/dist/jkbms_ble-*.whl)"
echo "built $(basename "$wheel")"

# A clean venv: the wheel and the test tools, nothing else.
uv venv --quiet --python python3.14 "$work/venv"
py="$work/venv/bin/python"
uv pip install --quiet --python "$py" "$wheel" pytest hypothesis
cd "$work/check"  # nothing of the repository on sys.path from here on
if "$py" -c "import homeassistant" 2>/dev/null; then
  echo "homeassistant is importable in the clean venv" >&2; exit 1
fi
if "$py" -c "import custom_components" 2>/dev/null; then
  echo "the integration is importable in the clean venv" >&2; exit 1
fi

# The protocol tests, importing the installed package instead of the integration.
tar --exclude=__pycache__ -cf - -C "$repo/tests" protocol | tar -xf - -C "$work/check/tests"
touch "$work/check/tests/__init__.py"
# The bit-flip sweep the shield test runs lives with the benchmarks.
mkdir -p "$work/check/benchmarks"
cp "$repo"/benchmarks/{__init__,report,bitflip_sweep}.py "$work/check/benchmarks/"
sed -i 's/custom_components\.jk_bms\.protocol/jkbms_ble/g' \
  "$work"/check/tests/protocol/*.py "$work"/check/benchmarks/*.py
cat >"$work/check/tests/conftest.py" <<'PY'
"""The deterministic hypothesis profile of the project's own tests/conftest.py."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")
PY
"$py" -m pytest -q -p no:cacheprovider tests/protocol

# The decoder on a captured frame (ESPHome's JK02 cell-info vector), both ways.
hex="$("$py" - "$work/check/tests/protocol/vectors/esphome_jk02.json" <<'PY'
import json, sys
vectors = json.load(open(sys.argv[1]))["vectors"]
print(next(v["hex"] for v in vectors if v["crc_ok"] and v["frame_type"] == 2))
PY
)"
"$work/venv/bin/jkbms-decode" decode "$hex" >"$work/decoded.json"
"$py" -m jkbms_ble decode "$hex" >"$work/decoded_m.json"
cmp "$work/decoded.json" "$work/decoded_m.json"
"$py" - "$work/decoded.json" <<'PY'
import json, sys
decoded = json.load(open(sys.argv[1]))
text = json.dumps(decoded)
assert "cell_voltage_1" in text, text[:300]
print("decoder CLI: cell-info frame decoded,", len(text), "bytes of JSON")
PY
echo "jkbms-ble: wheel installs and works without Home Assistant"
