"""Models: the codec simulators (S3Diff-style and small) and their FiLM conditioning."""
