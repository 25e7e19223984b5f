#!/usr/bin/env python3
"""Placeholder: written with the party plugin."""
print("1..0 # SKIP not written yet")
