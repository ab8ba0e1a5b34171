"""The web front: the DPO console (`/console/…`) and the self-service portal (`/portal/…`),
server-rendered pages beside the HTTP API, in az, en and ru.

A front like `mexfi.api`: it imports capabilities' faces (and their `views` modules), never
the reverse, and calls the same service functions as the API with the same role checks.
`install_web(app)` mounts it on the API's app (`mexfi.api.app.create_app` calls it):

- `security`: signed cookies, CSRF, the security headers of every web response;
- `i18n`: the pages' words in az, en and ru, and which language a page is in;
- `pages`: `render`, `FormDep`, `flash`, `redirect`, `web_error` (see its docstring);
- `console`: the DPO console's routes and staff sign-in; `portal`: the portal's.

Templates are in `templates/` (`base.html` the layout; `console/`, `portal/`), the one
stylesheet in `static/style.css`, served at `/static/…`. No page takes a personal value in
its URL: look-ups by phone are POSTs, paths carry ids. No route is in the OpenAPI document.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC", "install_web"]

STATIC = Path(__file__).parent / "static"


def install_web(app: FastAPI) -> None:
    """Mount the console, the portal and their static files on `app` (once, after the
    API's routers and error handlers)."""
    from mexfi.web.console import router as console
    from mexfi.web.pages import install_error_pages
    from mexfi.web.security import SecurityHeadersMiddleware

    app.include_router(console)
    if importlib.util.find_spec("mexfi.web.portal") is not None:
        from mexfi.web.portal import router as portal

        app.include_router(portal)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every web answer gets them
