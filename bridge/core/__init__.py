"""The request path's pure core: what SocketLabs sends, authentication, records, settings, errors."""
