"""Declarative protocol data: one module per frame type, plus registers, alarms, options.

Modules here import their parent package relatively (``# noqa: TID252``) so the
protocol library keeps working when published without the ``custom_components``
prefix.
"""
