"""Enrolled people: templates on disk, extraction from photos, and matching."""
