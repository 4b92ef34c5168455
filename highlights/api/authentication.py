"""API authentication: DRF's classes, with credentials PostgreSQL cannot compare refused up front."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import BasicScheme
from rest_framework import authentication, exceptions
from rest_framework.request import Request


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic auth (RFC 7617); a user id or password with a NUL character fails (401/403), never 500.

    Failed attempts count towards django-axes' lockout like those of the login page.
    """

    def authenticate_credentials(self, userid: str, password: str, request: Request | None = None) -> Any:
        if "\x00" in userid or "\x00" in password:
            raise exceptions.AuthenticationFailed("credentials cannot contain NUL characters")
        return super().authenticate_credentials(userid, password, request)


class BasicAuthenticationScheme(BasicScheme):
    """The OpenAPI scheme of :class:`BasicAuthentication`: HTTP Basic (drf-spectacular's matches DRF's class only)."""

    target_class = "highlights.api.authentication.BasicAuthentication"
