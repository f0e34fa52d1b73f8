"""Smoke tests of the images: build them, then run pytest tests/images per image."""
