"""Live updates over websockets: metric subscriptions shared by everyone asking the same
question (``hub.py``) and the protocol handler that joins them (``handler.py``)."""
