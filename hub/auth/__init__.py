"""Who is asking: cookie sessions (with CSRF) for the browser, bearer tokens for integrations."""

from hub.auth.principal import Principal

__all__ = ["Principal"]
