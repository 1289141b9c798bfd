"""The camera is for "Scan label" only: the pages that offer it let the browser ask for it.

Every other page's Permissions-Policy keeps the camera off (`camera=()`), so a script on
them could not start it even if one tried.
"""

from __future__ import annotations

from flask import g

CAMERA_OFF = "camera=(), microphone=(), geolocation=()"
CAMERA_HERE = "camera=(self), microphone=(), geolocation=()"


def offer_scanning() -> None:
    """This page shows "Scan label" (components/scan_label.html): allow this origin the camera."""
    g.offers_scanning = True


def permissions_policy() -> str:
    return CAMERA_HERE if g.get("offers_scanning") else CAMERA_OFF
