"""Duplicates: exact (text and pixels), near-duplicate text (MinHash LSH), near-duplicate
images (pHash), semantic duplicates (CLIP embeddings)."""
