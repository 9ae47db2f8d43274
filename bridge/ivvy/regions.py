"""Where each iVvy region's API lives, and the API root a config names.

Kept apart from the client so that loading a config does not import an HTTP library.
"""

from __future__ import annotations

REGION_BASE_URLS = {
    "AU": "https://api.ap-southeast-2.ivvy.com",
    "US": "https://api.us-west-2.ivvy.com",
    "UK": "https://api.eu-west-2.ivvy.com",
}


def base_url_for(region: str | None, base_url: str | None) -> str:
    """The API root: an explicit base URL wins, else the region's host."""
    if base_url:
        return base_url.rstrip("/")
    if region is None:
        raise ValueError("either an iVvy region (AU, US, UK) or a base URL is required")
    try:
        return REGION_BASE_URLS[region.upper()]
    except KeyError:
        known = ", ".join(REGION_BASE_URLS)
        raise ValueError(f"unknown iVvy region {region!r}; expected one of {known}") from None
