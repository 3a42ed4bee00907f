"""The command line: arguments and dispatch, and the SocketLabs API commands."""
