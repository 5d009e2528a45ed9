"""The hotline's services (Art. 4) and the kinds of ticket callers raise, with the Chinese
names staff see. One list, used by the voice menu, the console and the reports."""

from __future__ import annotations

# Art. 4 (1)-(8); analysis (7) is the court's own work, not something a caller asks for.
SERVICES = {
    "case_query": "案件查询",
    "consultation": "诉讼咨询",
    "complaint": "投诉举报",
    "suggestion": "意见建议",
    "contact_judge": "联系法官",
    "appointment": "预约服务",
    "analysis": "分析研判",
    "mediation": "诉前引导",
}

TICKET_TYPES = {
    **{code: name for code, name in SERVICES.items() if code != "analysis"},
    "callback": "留言回电",
}

APPOINTMENT_KINDS = {
    "filing": "预约立案",
    "mediation": "预约调解",
    "meet_judge": "约见法官",
    "video_petition": "视频信访",
}
