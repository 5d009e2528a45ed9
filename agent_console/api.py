"""The console's JSON API under /api/, for scripts and the pages' own scripts. Clients log
in with POST /api/login and send the token as `Authorization: Bearer ...`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from agent_console import accounts, logins
from agent_console.accounts import Account
from agent_console.auth import (
    SESSION_COOKIE,
    Bearer,
    Principal,
    client_address,
    console,
    login_error,
    require_role,
)
from agent_console.forms import ErrorOut
from agent_console.pages import end_sessions_of
from agent_console.texts import ADMIN, MESSAGES, ROLE_LABELS, ROLES
from hotline.courts import court_scope
from hotline.db.base import session_scope
from hotline.db.models import User

router = APIRouter(prefix="/api")


class LoginRequest(BaseModel):
    username: str
    password: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    # the token lapses when unused for session_idle_minutes, and session_max_hours after the
    # login however used; this is the current end
    expires_at: datetime


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_label: str
    extension: str
    active: bool

    @classmethod
    def of(cls, user: User | Account) -> UserOut:
        return cls(username=user.username, display_name=user.display_name, role=user.role,
                   role_label=ROLE_LABELS.get(user.role, user.role), extension=user.extension,
                   active=user.active if isinstance(user, User) else True)


class LoginAttemptOut(BaseModel):
    at: datetime
    username: str = Field(description="as typed, also when no such user exists")
    address: str
    success: bool
    via: str = Field(description="form (the login page) or api (POST /api/login)")


class SessionsEndedOut(BaseModel):
    username: str
    ended: int = Field(description="how many browser sessions and API tokens were ended")


@router.post("/login", summary="log in: username and password for a bearer token",
             responses={429: {"model": ErrorOut, "description": "too many wrong passwords "
                              "for this username or from this address: try again later"}})
async def api_login(request: Request, body: LoginRequest) -> TokenOut:
    c = console(request)
    async with session_scope(c.sessions) as db:
        outcome = await logins.log_in(db, body.username, body.password, client_address(request),
                                      c.clock(), logins.Throttle.of(c.settings.console), "api")
        if outcome.user is not None:
            await accounts.purge_expired(db, c.clock())
            secret, row = await accounts.issue_token(db, outcome.user.id, c.clock(),
                                                     c.lifetime)
    # Raised after the commit, so the failure stays logged.
    if outcome.locked_until is not None:
        wait = max(1, int((outcome.locked_until - c.clock()).total_seconds()))
        raise HTTPException(429, login_error(c, outcome), headers={"Retry-After": str(wait)})
    if outcome.user is None:
        raise HTTPException(401, MESSAGES["bad_credentials"],
                            headers={"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=secret, expires_at=row.expires_at)


@router.post("/logout", status_code=204,
             summary="end the login in use: the bearer token sent (or the browser session)")
async def api_logout(request: Request, credentials: Bearer,
                     _who: Annotated[Principal, Depends(require_role(*ROLES))]) -> None:
    async with session_scope(console(request).sessions) as db:
        if credentials is not None:
            await accounts.revoke_token(db, credentials.credentials)
        else:
            await accounts.close_session(db, request.cookies.get(SESSION_COOKIE, ""))


@router.get("/logins", summary="the login log, newest first (administrators only)")
async def login_log(request: Request, _who: Annotated[Principal, Depends(require_role(ADMIN))],
                    username: str = "", address: str = "",
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200
                    ) -> list[LoginAttemptOut]:
    async with session_scope(console(request).sessions) as db:
        rows = await logins.recent(db, username, address, limit)
        return [LoginAttemptOut.model_validate(row, from_attributes=True) for row in rows]


@router.delete("/users/{user_id}/sessions",
               summary="log a user out everywhere: their sessions and tokens (administrators)")
async def end_user_sessions(request: Request, user_id: int,
                            _who: Annotated[Principal, Depends(require_role(ADMIN))]
                            ) -> SessionsEndedOut:
    async with session_scope(console(request).sessions) as db:
        name, count = await end_sessions_of(db, user_id)
    return SessionsEndedOut(username=name, ended=count)


@router.get("/me", summary="the logged-in user")
async def me(who: Annotated[Principal, Depends(require_role(*ROLES))]) -> UserOut:
    return UserOut.of(who.account)


@router.get("/users", summary="every console user (administrators only; a basic court's "
            "administrator: their court's)")
async def users(request: Request,
                who: Annotated[Principal, Depends(require_role(ADMIN))]) -> list[UserOut]:
    async with session_scope(console(request).sessions) as db:
        scope = await court_scope(db, who.account.id)
        return [UserOut.of(user) for user in await accounts.list_users(db)
                if scope in (None, user.court_id)]
