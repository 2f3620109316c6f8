"""Templated content: caption templates mined over the corpus, and layout templates
(mockups sharing one fixed picture)."""
