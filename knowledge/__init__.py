"""The knowledge base (data files in knowledge/data/), its loader and matcher, and bounce parsing."""
