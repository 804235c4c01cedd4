"""The analysis asset graph; each module is one step of it."""
