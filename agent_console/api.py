"""The console's JSON API under /api/, for scripts and the pages' own scripts. Clients log
in with POST /api/login and send the token as `Authorization: Bearer ...`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from agent_console import accounts
from agent_console.accounts import Account
from agent_console.auth import Principal, console, require_role
from agent_console.texts import ADMIN, MESSAGES, ROLE_LABELS, ROLES
from hotline.db.base import session_scope
from hotline.db.models import User

router = APIRouter(prefix="/api")


class LoginRequest(BaseModel):
    username: str
    password: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    # the token lapses when unused this long after its last use; this is the current end
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


@router.post("/login", summary="log in: username and password for a bearer token")
async def api_login(request: Request, body: LoginRequest) -> TokenOut:
    c = console(request)
    async with session_scope(c.sessions) as db:
        user = await accounts.authenticate(db, body.username, body.password)
        if user is None:
            raise HTTPException(401, MESSAGES["bad_credentials"],
                                headers={"WWW-Authenticate": "Bearer"})
        await accounts.purge_expired(db, c.clock())
        secret, row = await accounts.issue_token(db, user.id, c.clock(), c.idle)
    return TokenOut(access_token=secret, expires_at=row.expires_at)


@router.get("/me", summary="the logged-in user")
async def me(who: Annotated[Principal, Depends(require_role(*ROLES))]) -> UserOut:
    return UserOut.of(who.account)


@router.get("/users", summary="every console user (administrators only)")
async def users(request: Request,
                _who: Annotated[Principal, Depends(require_role(ADMIN))]) -> list[UserOut]:
    async with session_scope(console(request).sessions) as db:
        return [UserOut.of(user) for user in await accounts.list_users(db)]
