"""PTB text to ids, and the stream and chunk arithmetic both loaders use: no framework."""
