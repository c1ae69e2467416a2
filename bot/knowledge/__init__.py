"""The knowledge base: YAML with line numbers, the fields of each kind of item, the loader and its checks, the model."""
