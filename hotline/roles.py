"""The staff roles, as the database stores them (User.role). The rules of the core
(hotline.access, hotline.recording_access) and the console's labels (agent_console.texts)
name them from here."""

from __future__ import annotations

AGENT = "agent"  # 座席员
DUTY_JUDGE = "duty_judge"  # 值班法官
DEPT_HANDLER = "dept_handler"  # 部门专人
DEPT_HEAD = "dept_head"  # 部门负责人
LEADER = "leader"  # 分管院领导
ADMIN = "admin"  # 管理员
