"""Entry point for ``python -m custom_components.jk_bms.protocol`` (library: ``python -m jkbms_ble``)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
