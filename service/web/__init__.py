"""The web pages: plain HTML shells (``templates/``), vanilla JS and CSS served from ``static/``,
fed by the JSON API."""

from .pages import include_web, render_page, router

__all__ = ["include_web", "render_page", "router"]
