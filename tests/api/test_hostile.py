#!/usr/bin/env python3
"""Placeholder: written with the reliability issue."""
print("1..0 # SKIP not written yet")
