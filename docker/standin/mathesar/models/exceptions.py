class NoConnectionAvailable(Exception):
    """No stored role could connect to the database."""


class NoAdminConnectionAvailable(Exception):
    """The role that owns the msar schema has no stored credentials."""
