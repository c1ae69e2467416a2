"""Understanding a message: the lexical and semantic signals, intents, helplines, languages,
the policy, the decision, the engine."""
