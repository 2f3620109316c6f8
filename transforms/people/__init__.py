"""Faces in images, and the same person repeated across records."""
