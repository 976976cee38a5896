"""A virtual JK BMS and a virtual ESPHome-style Bluetooth proxy (tests and scripts/develop).

Never shipped by HACS: it lives outside ``custom_components``.
"""
