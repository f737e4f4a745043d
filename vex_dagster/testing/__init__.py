"""In-process emulators of hosted vector services, for tests without the service.

They answer the requests the official clients really send, with the documented
shapes, limits and errors, so a connector that would fail against the service
fails against the emulator too. Usable by anyone testing code that talks to
these services.
"""
