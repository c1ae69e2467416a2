"""What the bot keeps: SQLite, and the privacy rules (masking, hashed identifiers)."""
