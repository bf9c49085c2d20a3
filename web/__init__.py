"""Kanyan's web layer: URL map, views, templates and browser scripts."""
