"""Names shared by Asterisk's configuration and every part that drives it: the queue,
dialplan contexts, AMI users, channel variables, route names and user events. Code and
tests import them from here (`from pbx import names`); tests/unit/pbx/test_names.py checks
that dialplan/ and asterisk-conf/ use the same spelling."""

from __future__ import annotations

# The one queue of seats (asterisk-conf/queues.conf).
QUEUE = "seats"
# The bridge's AMI user and the web console's own, with fewer rights (manager.conf).
AMI_USER = "hotline"
CONSOLE_AMI_USER = "console"
# The PJSIP reload and registrations (AMI class system, no originate; pbx/pjsip.py).
PJSIP_AMI_USER = "pjsip"
# dialplan/transfer.conf: a blind transfer, and an attended transfer's consultation.
BLIND_CONTEXT = "hotline-transfer"
CONSULT_CONTEXT = "hotline-consult"
# Every context the hotline may send a channel into (an Originate, a Redirect) starts so.
OWN_CONTEXT_PREFIX = "hotline-"

# Set by the bridge before it returns; dialplan/route.conf branches on it.
ROUTE_VAR = "HOTLINE_ROUTE"
ROUTE_QUEUE = "queue"  # to the seats (office hours)
ROUTE_CLOSED = "closed"  # the closed message and a voice message
ROUTE_DONE = "done"  # the voice menu finished the call
ROUTE_DIRECTORY = "directory"  # ring the department or staff member the caller keyed
ROUTES = (ROUTE_QUEUE, ROUTE_CLOSED, ROUTE_DONE, ROUTE_DIRECTORY)

# dialplan/directory.conf: what the bridge sets before route "directory" — the number to
# ring (an extension, or an outside number through the carrier) and the directory entry,
# which the "directory-missed" AGI route takes a message for when nobody answers.
DIRECTORY_CONTEXT = "hotline-directory"
DIRECTORY_DIAL = "HOTLINE_DIAL"
DIRECTORY_ENTRY = "HOTLINE_DIRECTORY_ENTRY"

# The call record's route, which the bridge and the dialplan set; [hotline-cdr] writes it
# into the CDR (hotline_route) when the caller has gone, and the reconciler reads it back.
# A channel variable, not CDR() at once: every CDR() call waits for Asterisk's CDR thread.
CALL_ROUTE = "HOTLINE_CALL_ROUTE"

LINKEDID = "CHANNEL(linkedid)"

# The seats queue (dialplan/queue.conf): when the caller first joined (epoch seconds, set
# once per call), the position Asterisk gave them when they left it, and the position
# to rejoin at when they choose to keep waiting.
QUEUED_AT = "HOTLINE_QUEUED_AT"
QUEUE_POSITION_LEFT = "QUEUEPOSITION"
QUEUE_POSITION = "HOTLINE_QUEUE_POSITION"
# Where the bridge moves callers still waiting in the queue at closing time.
QUEUE_CLOSING_CONTEXT = "hotline-queue-closing"

# What a call record's route says.
CALL_ROUTE_MENU = "menu"
CALL_ROUTE_QUEUE = "queue"
CALL_ROUTE_CLOSED = "closed"
CALL_ROUTE_FALLBACK = "fallback"
CALL_ROUTE_DIRECTORY = "directory"

# UserEvent names emitted by the dialplan.
EVENT_RECORDING = "HotlineRecording"
EVENT_MESSAGE = "HotlineMessage"
EVENT_FALLBACK = "HotlineFallback"
EVENT_QUEUE_LEFT = "HotlineQueueLeft"
# dialplan/transfer.conf: the caller rings the duty judge; the judge did not answer and
# the caller goes back to the agent.
EVENT_TRANSFER = "HotlineTransfer"
EVENT_TRANSFER_RETURNED = "HotlineTransferReturned"
# dialplan/reply.conf: a handler's click-to-call reply to a caller ended; it carries the
# ticket, Dial's status (ANSWER when the caller picked up) and the seconds talked.
EVENT_REPLY = "HotlineReply"
USER_EVENTS = (EVENT_RECORDING, EVENT_MESSAGE, EVENT_FALLBACK, EVENT_QUEUE_LEFT,
               EVENT_TRANSFER, EVENT_TRANSFER_RETURNED, EVENT_REPLY)

# The click-to-call reply (pbx.control.reply_call_action): the context the
# handler's phone enters on answering, and the variables the console sets on it.
REPLY_CONTEXT = "hotline-reply"
REPLY_TICKET = "HOTLINE_TICKET"
REPLY_NUMBER = "HOTLINE_REPLY_NUMBER"
# The console user who asked for the reply call: HotlineReply carries it back, so the
# recording's access rule knows who made the call (hotline.recording_access).
REPLY_STAFF = "HOTLINE_REPLY_STAFF"
