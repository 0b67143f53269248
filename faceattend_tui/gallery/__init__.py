"""Enrolled people: templates on disk, extraction from photos, and matching."""

from __future__ import annotations
