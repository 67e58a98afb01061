"""The Module tree page."""
