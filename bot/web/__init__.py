"""The web admin (aiohttp + Jinja2): templates, history, dashboard."""
