"""The maintainers' tools: the terminal, evaluation, the inbox report, the fit, the towns' generator."""
