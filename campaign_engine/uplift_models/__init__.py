"""The uplift model registry: train, evaluate, promote, score, and target campaigns by uplift."""
