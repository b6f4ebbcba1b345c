"""The model catalog: aliases, context limits, pricing and which provider serves each model."""
