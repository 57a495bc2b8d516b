"""What every router of Dot's API shares: the `/api` prefix and the documented auth schemes.

The prefix is part of each router (not added when the app includes it) so that a route's
`path`, which the journal records as `route`, is the full template Dot documents.
"""

from fastapi import APIRouter

from dot_orchestration.emulator.auth import AUTH_SCHEMES

API_PREFIX = "/api"


def dot_router(tag: str) -> APIRouter:
    """A router for one domain of Dot's API."""
    return APIRouter(prefix=API_PREFIX, tags=[tag], dependencies=AUTH_SCHEMES)
