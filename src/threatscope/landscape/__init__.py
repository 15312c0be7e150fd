"""Landscape analytics: who attacks whom, with what share, how sure we are, how it changes."""
