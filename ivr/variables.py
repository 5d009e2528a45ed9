"""Names shared between the dialplan and the bridge: channel variables, route names and
user events. Code and tests import them from here; tests/unit/ivr/test_variables.py checks
that dialplan/ uses the same spelling."""

from __future__ import annotations

# Set by the bridge before it returns; dialplan/route.conf branches on it.
ROUTE_VAR = "HOTLINE_ROUTE"
ROUTE_QUEUE = "queue"  # to the seats (office hours)
ROUTE_CLOSED = "closed"  # the closed message and a voice message
ROUTE_DONE = "done"  # the voice menu finished the call
ROUTES = (ROUTE_QUEUE, ROUTE_CLOSED, ROUTE_DONE)

# CDR variables the dialplan and the bridge fill, read back by the reconciler.
CDR_ROUTE = "CDR(hotline_route)"
CDR_RECORDING = "CDR(hotline_recording)"

LINKEDID = "CHANNEL(linkedid)"

# What a call record's route says.
CALL_ROUTE_MENU = "menu"
CALL_ROUTE_QUEUE = "queue"
CALL_ROUTE_CLOSED = "closed"
CALL_ROUTE_FALLBACK = "fallback"

# UserEvent names emitted by the dialplan.
EVENT_RECORDING = "HotlineRecording"
EVENT_MESSAGE = "HotlineMessage"
EVENT_FALLBACK = "HotlineFallback"
EVENT_QUEUE_LEFT = "HotlineQueueLeft"
USER_EVENTS = (EVENT_RECORDING, EVENT_MESSAGE, EVENT_FALLBACK, EVENT_QUEUE_LEFT)
