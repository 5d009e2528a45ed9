"""The Chinese the console shows from code: role names and messages. The pages' own words
are in templates/. Role codes (the keys of ROLE_LABELS) are what the database stores."""

from __future__ import annotations

AGENT = "agent"
DUTY_JUDGE = "duty_judge"
DEPT_HANDLER = "dept_handler"
DEPT_HEAD = "dept_head"
LEADER = "leader"
ADMIN = "admin"

ROLE_LABELS = {
    AGENT: "座席员",
    DUTY_JUDGE: "值班法官",
    DEPT_HANDLER: "部门专人",
    DEPT_HEAD: "部门负责人",
    LEADER: "院领导",
    ADMIN: "管理员",
}

ROLES: tuple[str, ...] = tuple(ROLE_LABELS)

MESSAGES = {
    "title": "12368 诉讼服务热线工作台",
    # One message for a wrong password and an unknown name: the form must not tell which.
    "bad_credentials": "用户名或密码错误，请重新输入。",
    "form_expired": "页面已过期，请重新登录。",
    "login_required": "请先登录。",
    "role": "您的角色无权访问此页面。",
    "csrf": "安全校验未通过（页面可能已过期），请返回刷新后重试。",
}

# Roles that see callers' phone and ID numbers whole: the agent who talks to the caller and
# the handler who must reply. Everyone else sees them masked (hotline.privacy).
SEES_PERSONAL_DATA = frozenset({AGENT, DEPT_HANDLER})
