"""Cross-cutting pieces every component uses: the stack's identity, providers and tags."""
