"""Widgets of the live board."""
