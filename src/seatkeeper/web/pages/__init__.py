"""Server-rendered pages: login, the Account menu and the Active Agents page.

Every page route is given the visitor it declares (`visitor`, `maybe_visitor`, and for
forms that act on an account, `managed`), has its unsafe requests checked for the
browser's CSRF token (one guard), and hands a browser without a CSRF secret its own."""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine

from seatkeeper.domain.words import plural
from seatkeeper.web.deps import PAGE_DEPENDENCIES, PAGE_GUARDS, CsrfSecret, csrf_token
from seatkeeper.web.pages.active_agents import (
    active_agents,
    active_agents_events,
    active_agents_fragments,
    choose_account,
)
from seatkeeper.web.pages.auth import home, log_in, log_out, login_page
from seatkeeper.web.pages.common import PAGE_EXCEPTION_HANDLERS
from seatkeeper.web.pages.console import console
from seatkeeper.web.pages.holders import holders_page
from seatkeeper.web.pages.keys import keys_page, make_key, revoke_key, rotate_key
from seatkeeper.web.pages.logins import end_other_logins, logins_page
from seatkeeper.web.pages.recently_ended import recently_ended
from seatkeeper.web.pages.seat_groups import change_group, change_guests, create_group, delete_group
from seatkeeper.web.pages.set_password import set_password, set_password_page
from seatkeeper.web.pages.settings import save_settings, settings_page
from seatkeeper.web.pages.sso import callback, start, start_any
from seatkeeper.web.pages.sso_settings import remove_sso, save_sso
from seatkeeper.web.pages.usage_report import usage_report
from seatkeeper.web.pages.users import (
    change_role,
    create_user,
    disable_user,
    enable_user,
    end_user_logins,
    reset_password,
    set_user_groups,
    users_page,
)
from seatkeeper.web.presenters import average


@pass_context
def _csrf_token(context: Any) -> str:
    return csrf_token(context["request"])


def add_filters(engine: JinjaTemplateEngine) -> None:
    """Formats the templates use (`n|plural("license")`: 1 license, 2 licenses), and
    `csrf_token()`, which every form and script carries."""
    engine.engine.filters["average"] = average
    engine.engine.filters["plural"] = plural
    engine.engine.globals["csrf_token"] = _csrf_token


pages_router = Router(
    path="/",
    route_handlers=[
        login_page,
        log_in,
        log_out,
        home,
        active_agents,
        active_agents_fragments,
        active_agents_events,
        choose_account,
        recently_ended,
        usage_report,
        holders_page,
        settings_page,
        save_settings,
        save_sso,
        remove_sso,
        create_group,
        change_guests,
        change_group,
        delete_group,
        users_page,
        create_user,
        change_role,
        disable_user,
        enable_user,
        reset_password,
        end_user_logins,
        set_user_groups,
        keys_page,
        make_key,
        revoke_key,
        rotate_key,
        set_password_page,
        set_password,
        console,
        logins_page,
        end_other_logins,
        start_any,
        start,
        callback,
    ],
    dependencies=PAGE_DEPENDENCIES,
    guards=PAGE_GUARDS,
    middleware=[CsrfSecret()],
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
    include_in_schema=False,
)
