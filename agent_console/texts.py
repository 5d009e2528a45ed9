"""The Chinese the console shows from code: role names and messages. The pages' own words
are in templates/. Role codes (the keys of ROLE_LABELS) are what the database stores."""

from __future__ import annotations

# The role codes live in the core; the console's modules keep naming them from here.
from hotline.roles import ADMIN as ADMIN
from hotline.roles import AGENT as AGENT
from hotline.roles import DEPT_HANDLER as DEPT_HANDLER
from hotline.roles import DEPT_HEAD as DEPT_HEAD
from hotline.roles import DUTY_JUDGE as DUTY_JUDGE
from hotline.roles import LEADER as LEADER

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

# --- work pages: call logs, consultations, the duty roster, the knowledge base ----------

MESSAGES.update({
    "not_owner": "只有登记此记录的座席员本人可以修改。",
    "not_found": "没有找到该记录。",
    "fix_fields": "请更正下面标出的内容。",
    "saved": "已保存。",
    "consultation_sent": "咨询单已发送给今日值班法官。",
    "consultation_answered": "已答复。",
})

CALLER_KIND_LABELS = {"party": "当事人", "lawyer": "律师或代理人", "public": "社会公众"}
OUTCOME_LABELS = {
    "answered": "当场解答",
    "duty_judge": "请示值班法官",
    "forwarded": "转办部门",
    "substantive": "告知属实体法律问题",
}
CONSULTATION_STATUS_LABELS = {"open": "待答复", "answered": "已答复"}

# Field names as staff see them next to the field, and in every error about it.
FIELD_LABELS = {
    "caller_name": "来电人姓名",
    "caller_kind": "来电人类型",
    "contact": "联系电话",
    "id_number": "身份证号码",
    "case_number": "案号",
    "category": "事项类别",
    "question": "咨询问题",
    "answer": "答复内容",
    "outcome": "处理结果",
    "call": "来电",
    "consult": "咨询单",
    "day": "日期",
    "start": "开始日期",
    "end": "结束日期",
    "judge": "值班法官",
    "note": "备注",
    "title": "标题",
    "menu_key": "语音菜单按键",
}

# {label} is the field's name from FIELD_LABELS.
FIELD_ERRORS = {
    "required": "请填写{label}。",
    "choose": "请选择{label}。",
    "too_long": "{label}不能超过{limit}个字。",
    "contact": "{label}应为7至20位数字，可含空格、连字符和开头的“+”。",
    "id_length": "{label}应为18位：17位数字加1位数字或X。",
    "id_check": "{label}的校验位不正确，请核对。",
    "id_birth": "{label}中的出生日期不正确，请核对。",
    "case_number": "{label}格式不正确，应如“（2026）京0105民初1234号”。",
    "answer_needed": "当场解答或告知属实体法律问题时，请填写{label}。",
    "no_call": "{label}不存在（编号有误或已删除）。",
    "not_your_call": "{label}不存在，或不是您接听的通话：只能为自己接听的来电登记或咨询。",
    "no_duty_judge": "今日值班表中没有值班法官，无法发送{label}；请联系管理员排班。",
    "date": "{label}格式不正确，应如 2026-12-01。",
    "range": "{label}须不早于开始日期，且一次最多填写366天。",
    "not_judge": "所选用户不是在职的值班法官，请重新选择{label}。",
}

# Complaints about the court's staff (issue 15): the call log's checkbox and its errors.
FIELD_LABELS.update({"about_staff": "投诉法院工作人员", "accused_department": "被投诉部门"})
FIELD_ERRORS.update({
    "about_staff_category": "勾选{label}时，事项类别须为“投诉举报”。",
    "no_department": "所选{label}不存在，请重新选择。",
})
MESSAGES.update({"confidential": "投诉法院工作人员的事项保密，只能转纪检监察部门。"})
# The block list (issue 15).
FIELD_LABELS.update({"block_number": "电话号码", "block_reason": "原因",
                     "block_until": "有效期至"})
FIELD_ERRORS.update({
    "block_number": "{label}格式不正确：请填写完整的手机或固定电话号码。",
    "block_past": "{label}须不早于今天。",
    "block_far": "{label}最长一年，到期后可再次延长。",
})
BLOCK_ACTION_LABELS = {"added": "加入", "changed": "修改", "removed": "移出"}

# Why an agent is paused in the seats queue (stored as the key; Asterisk gets the key too).
PAUSE_REASONS = {
    "break": "小休",
    "after_call": "话后处理",
    "meeting": "会议",
    "training": "培训",
}

MESSAGES.update({
    "pbx_down": "交换机未连接，暂时无法操作话务，请稍后重试或联系管理员。",
    "no_extension": "您的账号未绑定座席分机，请联系管理员。",
    "pause_reason": "请选择示忙原因。",
    "no_duty_judge": "今天没有安排值班法官（或其未绑定分机），请联系管理员排班。",
    "no_call": "当前没有正在通话的来电。",
})
# An extension is one user's at a time (accounts.assign_extension).
FIELD_LABELS["extension"] = "分机号"
FIELD_ERRORS.update({
    "extension_taken": "{label} {extension} 已分配给用户 {holder}，一个分机同一时间只属于一个"
                       "用户。请换一个分机，或明确选择从 {holder} 移交过来"
                       "（页面勾选“移交分机”，接口 move=true，命令行 --move-extension）。",
    "extension_digits": "{label}只能由数字组成，如 8001。",
})
MESSAGES.update({
    "extension_set": "用户 {name} 的分机已设为：{extension}。",
    "no_extension_set": "无",
})

# --- departments and tickets (forwarding, the handler's desk, replies) ----------------

FIELD_LABELS.update({
    "name": "部门名称",
    "handler": "部门专人",
    "head": "部门负责人",
    "leader": "分管院领导",
    "mobile": "手机号码",
    "department": "转办部门",
    "reply": "回复内容",
    "ticket": "事项",
})
FIELD_ERRORS.update({
    "taken": "{label}已存在，请换一个。",
    "no_user": "{label}不存在或已停用，请重新选择。",
    "wrong_role": "{label}须由角色为“{role}”的用户担任，请重新选择。",
})
MESSAGES.update({
    "no_proof": "须有回复录音或短信送达回执，才能办结。",
    "ticket_closed": "该事项已办结。",
    "ticket_taken": "该事项已被其他座席员领取。",
    "no_number": "该事项没有来电人号码，无法回复。",
    "not_mobile": "来电人号码不是手机号码，无法短信回复，请改用电话回复。",
    "no_handler": "该部门未指定在职的部门专人，请联系管理员。",
    "forwarded": "已转办，部门专人已收到通知。",
    "reply_queued": "回复短信已排队发送，送达后自动办结。",
    "reply_calling": "正在呼叫您的话机，接听后将自动呼叫来电人并全程录音。",
    "closed_ok": "已办结。",
    "no_callbacks": "回电清单已全部领取。",
    "read_only": "您只能查看本部门的事项。",
})
TICKET_STATUS_LABELS = {"open": "办理中", "closed": "已办结", "answered": "已答复"}
TICKET_EVENT_LABELS = {
    "created": "登记",
    "picked_up": "座席员领取",
    "forwarded": "转办",
    "notified": "通知",
    "escalated": "督办",
    "replied": "短信回复",
    "reply_call": "发起电话回复",
    "call_answered": "电话回复已接通",
    "call_failed": "电话回复未接通",
    "closed": "办结",
    "caller_told": "短信告知来电人",
    "note": "备注",
}

# Appointments (issue 15): the department's slot form on the matter's page, and its steps.
TICKET_EVENT_LABELS.update({
    "appt_requested": "预约登记", "appt_confirmed": "确认预约",
    "appt_rescheduled": "改约", "appt_cancelled": "取消预约",
})
FIELD_LABELS.update({"slot": "预约时间", "place": "地点", "bring": "携带材料",
                     "reason": "取消原因", "appointment_kind": "预约类别",
                     "preferred": "希望时间"})
FIELD_ERRORS.update({
    "slot_past": "{label}须晚于今天。",
    "slot_not_workday": "{label}不是工作日，请另选。",
    "slot_half": "请选择{label}的上午或下午。",
    "half_days": "{label}须从列出的半天中选择（可多选，也可不选）。",
})
MESSAGES.update({
    "appointment_confirmed": "预约已保存，短信已排队发送给来电人。",
    "appointment_cancelled": "预约已取消，短信已排队发送给来电人。",
    "appointment_no_sms": "预约已保存；来电号码不是手机号码，未发送短信，请电话告知来电人。",
    "appointment_not_confirmed": "该预约尚未确认，不能取消或改约。",
    "appointment_cancelled_already": "该预约已取消。",
})

# --- recordings: who may hear them, and the log of every listen ----------------------------

MESSAGES.update({
    "recording_denied": "该通话不存在，或您无权收听其录音。本次访问已记录。",
    "not_your_call": "该通话不存在，或不是您接听的通话：只能为自己接听的来电登记或咨询。"
                     "本次访问已记录。",
    "recording_not_found": "没有找到该录音（可能已按保存期限删除）。",
    "call_not_found": "没有找到该通话。",
})
FIELD_LABELS.update({"action": "操作类型", "user": "用户名"})

# --- SMS: the inbox of SMS needing a reply (Art. 8) and the outbox of SMS waiting -------

FIELD_LABELS.update({"sms_text": "短信内容"})
MESSAGES.update({
    "sms_replied": "回复已排队发送。",
    "sms_already_replied": "这条短信已由其他座席员回复。",
    "sms_not_mobile": "发信号码不是手机号码（如服务号码），无法回复短信。",
    "sms_requeued": "已重新排队发送。",
    "sms_not_failed": "只有发送失败的短信可以重新发送。",
    # issue 19: a provider that sends only its approved templates takes no typed text
    "sms_templates_only": ("本院短信平台只能发送备案的模板短信，不能发送自行输入的文字，"
                           "请改用电话回复。"),
    "sms_outbox_driver": "未配置短信网关（outbox 驱动）：短信保存在这里，不会发出。"
                         "请管理员在 hotline.toml [sms] 中配置 smpp 或 http 驱动。",
})
SMS_STATUS_LABELS = {
    "queued": "待发送",
    "sending": "发送中",
    "sent": "已发出",
    "delivered": "已送达",
    "failed": "发送失败",
    "undeliverable": "未送达",
    "received": "待回复",
    "replied": "已回复",
}

# --- logging in: the lock-out, the login log, ending sessions --------------------------------

MESSAGES.update({
    # {until} is the local time the lock ends; the same words whether the name or the
    # address is locked, so the answer does not tell whether the name exists.
    "login_locked": "登录失败次数过多，已暂时禁止登录，请于 {until} 后再试；"
                    "如忘记密码，请联系管理员重置。",
    "sessions_ended": "已结束用户 {name} 的全部登录（{count} 个会话或令牌），该用户需重新登录。",
    "user_not_found": "没有找到该用户。",
    "out_of_range": "编号或数值超出范围，没有对应的记录。",
})
LOGIN_VIA_LABELS = {"form": "网页", "api": "接口"}

# --- lists: search, filters, sort, paging (agent_console.listing, issue 13) ---------------

LIST_LABELS = {
    "q": "搜索内容",
    "start": "开始日期",
    "end": "结束日期",
    "sort": "排序",
    "dir": "排序方向",
    "page": "页码",
}
LIST_ERRORS = {
    "date": "{label}格式不正确，应如 2026-12-01；本次查询未按此条件筛选。",
    "range": "结束日期须不早于开始日期，且跨度不超过{years}年；本次查询未按结束日期筛选。",
    "choose": "{label}不在可选范围内，请从列表中选择；本次查询未按此条件筛选。",
    "sort": "无法按该列排序，已按默认顺序排列。",
    "page": "{label}应为正整数，已显示第 1 页。",
    "number": "号码应为数字（可含空格、连字符），如 13812345678 或 010-62345678；"
              "本次查询未按号码筛选。",
}

# --- calls: the call list and a call's timeline (agent_console.recordings) --------------

CALL_ROUTE_LABELS = {
    "menu": "语音菜单",
    "queue": "人工座席",
    "closed": "非工作时间留言",
    "fallback": "应急流程",
    "directory": "转部门或人员",
    "": "未分流",
}
CALL_OUTCOME_LABELS = {"answered": "已接听", "abandoned": "未接通"}
CALL_EVENT_LABELS = {
    "recording": "开始录音", "prompt": "播放提示音", "menu": "语音菜单按键", "route": "分流",
    "queue": "进入排队", "queue-left": "离开排队", "abandon": "排队中挂断", "agent": "座席接听",
    "judge-ringing": "转接值班法官", "transfer": "转接", "transfer-returned": "转接未接通返回座席",
    "fallback": "应急流程", "hangup": "挂机", "reconciled": "根据话单补录",
    "say": "语音播报", "record": "录制留言", "queue-wait": "排队等候", "ticket": "登记事项",
    "sms": "发送短信", "reply-call": "电话回复",
    "directory": "拨打部门或人员",
}
# What a call's timeline says about each step (the event's detail, in words).
CALL_EVENT_TEXTS = {
    "recording_call": "整通通话录音",
    "recording_message": "来电人留言录音",
    "prompt": "“{text}”",
    "prompt_other": "语音提示",
    "menu_key": "按键 {key}",
    "menu_digits": "输入 {count} 位号码（不显示）",
    "menu_timeout": "未按键（超时）",
    "route": "转入{route}",
    "queue": "排队第 {position} 位",
    "agent": "分机 {extension}",
    "target": "转接至 {target}",
    "transfer_ok": "{kind}成功",
    "transfer_failed": "{kind}未成功",
    "hangup": "{cause}",
    "cause_other": "挂机原因代码 {cause}",
    "reconciled": "实时记录中断，根据话单补录",
    "say": "播报查询结果（数字、日期）",
    "record": "来电人留言",
    "ticket": "事项编号 {reference}",
    "sms_caller": "发给来电人",
    "sms_party": "发给案件当事人（{count} 个号码）",
}
TRANSFER_KIND_LABELS = {"BlindTransfer": "直接转接", "AttendedTransfer": "询问后转接",
                        "blind": "直接转接", "attended": "询问后转接"}
DIAL_STATUS_LABELS = {"NOANSWER": "无人接听", "BUSY": "忙线", "CHANUNAVAIL": "话机不可用",
                      "CONGESTION": "线路拥塞", "CANCEL": "已取消", "ANSWER": "已接通"}
QUEUE_LEFT_LABELS = {"TIMEOUT": "等待超时", "FULL": "队列已满", "JOINEMPTY": "无座席可用",
                     "LEAVEEMPTY": "座席全部离开", "CONTINUE": "继续"}
# Q.850 causes as Asterisk reports a hang-up.
HANGUP_CAUSE_LABELS = {"16": "正常挂机", "17": "对方忙", "18": "无应答", "19": "无人接听",
                       "21": "呼叫被拒绝", "0": "正常挂机", "31": "正常挂机",
                       "34": "线路拥塞", "38": "网络故障", "127": "网络故障"}

# --- the agent's desk: where a call came from, wrap-up, the seat's states (issue 13) -------

# Keys of the main voice menu (ivr/menu.toml node "main"), for calls.menu_path.
MENU_KEY_LABELS = {
    "1": "案件查询",
    "2": "诉讼咨询",
    "3": "投诉举报",
    "4": "意见建议",
    "5": "预约服务",
    "6": "调解",
    "0": "留言",
    "*": "返回主菜单",
}
# A seat's presence as the desk and supervisors see it (hotline.db.presence STATES).
PRESENCE_LABELS = {"out": "未签入", "ready": "空闲", "paused": "示忙", "wrap_up": "话后处理"}
MESSAGES.update({
    "phone_unregistered": "座席话机（分机 {extension}）未注册，签入后也接不到来电：请先打开"
                          "话机并确认已注册（工作台上“话机”显示空闲），再签入或示闲。",
    "no_wrap_up": "当前没有需要话后处理的来电。",
})

# --- error pages: what the browser is shown instead of {"detail": "Not Found"} (issue 13) --

MESSAGES.update({
    "error_404": "没有找到您要访问的页面，可能地址有误或该记录已不存在。",
    "error_405": "该地址不支持这种访问方式，请从页面上的链接或按钮进入。",
    "error_422": "提交的内容不完整或格式不正确，请返回上一页检查后重新提交。",
    "error_500": "系统内部出现错误，已记录在日志中。请稍后重试；如一再出现，请联系管理员。",
    "error_other": "请求未能完成，请返回上一页重试。",
})
# The heading of an error page by HTTP status; 0 for any other status.
ERROR_TITLES = {
    0: "请求未能完成",
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    405: "访问方式不对",
    409: "当前状态下无法操作",
    413: "提交的内容过大",
    422: "提交的内容有误",
    429: "操作过于频繁",
    500: "系统错误",
    502: "交换机拒绝了操作",
    503: "服务暂不可用",
}

# --- SMS pages as agents read them (issue 13) ---------------------------------------------

MESSAGES.update({
    "sms_no_gateway": "短信网关尚未配置：短信保存在这里，暂不会发出。请联系管理员。",
    "sms_no_gateway_admin": "短信网关尚未配置：短信保存在这里，暂不会发出。请在系统配置文件的"
                            "短信部分选择 SMPP 或 HTTP 网关并填写其地址，然后重新启动系统。",
})

# --- administration: users, the knowledge base's history, departments (issue 13, H3) -----

FIELD_LABELS.update({
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "kb_category": "类别",
})
FIELD_ERRORS.update({
    "username_format": "{label}只能由小写字母、数字和“.”“_”“-”组成，2至40位，以字母或数字开头。",
    "username_taken": "{label} {username} 已存在，请换一个。",
    "own_role": "不能更改自己的{label}，请由另一位管理员操作。",
    "role_in_department": "该用户是部门“{departments}”的{position}，"
                          "更改{label}前请先在部门管理中更换人选。",
})
MESSAGES.update({
    "user_added": "已新增用户 {name}（{username}）。",
    "password_once": "密码只在此显示这一次，请当面或电话告知本人；"
                     "系统不保存明文，离开本页后无法再查看。",
    "password_reset": "已重置用户 {name} 的密码，其原有登录已全部结束。",
    "user_saved": "已保存用户 {name} 的资料。",
    "user_disabled": "已停用用户 {name}：不能再登录，原有登录已全部结束。",
    "user_disabled_seat": "已停用用户 {name}：不能再登录，原有登录已全部结束，"
                          "已退出座席 {extension} 的排队。",
    "user_enabled": "已启用用户 {name}，可以重新登录。",
    "disable_self": "不能停用自己的账号，请由另一位管理员操作。",
    "kb_deleted": "已删除条目“{title}”，语音菜单不再播放；可在下方“已删除的条目”中恢复。",
    "kb_restored": "已恢复条目“{title}”（处于停用状态，确认内容后再启用）。",
    "kb_title_taken": "已有标题为“{title}”的条目，请修改该条目或换一个标题。",
    "department_deleted": "已删除部门“{name}”。",
    "department_busy_api": "该部门还有 {open} 件未办结、{closed} 件已办结的事项，不能删除；"
                           "请改为停用（active=false）。",
})
KB_CHANGE_LABELS = {"created": "新增", "changed": "修改", "deleted": "删除", "restored": "恢复",
                    "imported": "导入"}

# --- codes shown in Chinese on the administrators' pages (issue 13) --------------------------

# hotline.db.alerts kinds (recordings, SMS, escalation, case query)
ALERT_KIND_LABELS = {
    "recording-missing": "录音文件缺失",
    "recording-orphan": "录音文件无对应通话",
    "recording-silent": "录音无声",
    "recording-failed": "录音处理失败",
    "sms": "短信发送",
    "escalation": "事项督办",
    "case-query": "案件查询接口",
}
# What a refused or logged request for a call asked for, by its address (first match wins).
ACCESS_REQUEST_LABELS = (
    ("/audio", "播放或下载录音"),
    ("/recordings", "查看通话录音"),
    ("consultations", "在咨询单中引用通话"),
    ("calllogs", "在来电登记中引用通话"),
    ("/calls/log", "在来电登记中引用通话"),
    ("/calls/", "查看通话"),
)

# --- phone numbers typed on the lists' pages and forms (issue 13) -------------------------

FIELD_ERRORS.update({
    "phone": "{label}有误：{reason}",
})

# --- satisfaction ratings (hotline.ratings, issue 15): the matter's history step, the
# call's event, and a caller's SMS that was a rating (nobody needs to answer it)

TICKET_EVENT_LABELS["rated"] = "满意度评价"
CALL_EVENT_LABELS["rating"] = "满意度评价"
SMS_STATUS_LABELS["rated"] = "已评价"

# --- the court's systems and matters answered outside the hotline (issue 19) --------------
TICKET_EVENT_LABELS.update({"answered_system": "对接系统答复", "closed_outside": "系统外答复办结"})
ALERT_KIND_LABELS.update({"integration-failing": "对接系统推送失败"})
ALERT_KIND_LABELS.update({"clock": "服务器时钟"})  # issue 16: NTP not synchronised
ALERT_KIND_LABELS.update({"backup": "数据备份"})  # issue 16: the nightly backup failed
ALERT_KIND_LABELS.update({"disk": "录音磁盘空间"})  # recordings/keeping.py: space low
FIELD_LABELS.update({"outside_reason": "办结理由", "outside_proof": "答复证明",
                     "outside_attachment": "证明附件"})
MESSAGES.update({
    "closed_outside_ok": "事项已按系统外答复办结，督办随之停止。",
    "attachment_too_big": "附件过大（不超过 {limit} MB）。",
    "attachment_kind": "附件须为以下格式之一：{kinds}。",
    "close_outside_refused": "只有该事项转办部门的负责人或管理员可以按系统外答复办结。",
    "system_token": "对接系统令牌无效或已停用。",
    "system_scope": "该对接系统令牌无权执行此操作（需要 {scope}）。",
    "system_type": "事项类型应为：{known}。",
    "system_channel": "答复方式应为 message 或 call。",
})

# --- courts (issue 17): the centre answers 12368 for the city's courts -----------------------

FIELD_LABELS.update({"court_name": "法院名称", "short_name": "简称", "case_prefix": "案号代字",
                     "court_phones": "联系电话", "position": "排列顺序", "court_active": "启用",
                     "court": "所属法院"})
FIELD_ERRORS.update({
    "bad_prefix": "{label}应为省份简称加数字，如“豫03”“豫0302”。",
    "centre": "热线中心所在的法院不能停用。",
    "position": "{label}应为正整数。",
    "other_court": "{label}须是该部门所属法院的人员（督办由本院负责人、分管院领导承担），"
                   "请重新选择。",
    "no_court": "{label}不存在，请重新选择。",
    "serves_other_court": "{label}是其他法院某部门的专人、负责人或分管领导，请先在部门管理中更换。",
})
FIELD_LABELS["staff_court"] = "所属法院"
# the duty roster and the calendar are kept per court (issue 17)
FIELD_ERRORS["judge_other_court"] = "{label}须是该法院的值班法官，请重新选择。"
MESSAGES["other_courts"] = "您只能管理本院的记录。"
