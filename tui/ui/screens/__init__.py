"""Screens of the live board: one screen per file."""
