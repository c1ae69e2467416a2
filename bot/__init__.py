"""Orientation bot of the Val-de-Marne: core (knowledge, matching, replies) and adapters."""
