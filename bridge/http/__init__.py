"""The HTTP side: the webhook and admin apps, the listener, HTTPS."""
