"""A trained checkpoint in use: its export, and its weights in another script's layout."""
