"""The data contract: layout (names), tar format, manifests, dataset.json and storage."""
