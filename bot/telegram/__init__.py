"""The Telegram adapter: wiring, typed context, handlers, rendering, flood control, errors.

Only the entry point (bot/cli.py) imports it.
"""
