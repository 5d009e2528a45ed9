"""The marks that tell the reports' daily roll-ups (reports/rollup.py) which days to count
again: database triggers on calls, call_events, tickets and ticket_events write the UTC hour
of every call, call event the figures read, matter and matter reply that is written,
changed or deleted into report_dirty — so no writer (the bridge, the reconciler with a late
call, the console reopening a matter, a script) has to remember to.

They are installed by hotline.db.migrate.upgrade after the migrations, not by one: SQLite
rebuilds a table that a later migration alters (batch mode), which drops the table's
triggers and trips over a trigger that names it. So upgrade() takes them out while
migrations run and puts them back after, and counts every day again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, inspect, text

# The call events the figures read (reports.calls.EVENT_KINDS) and the matter event that
# answers the caller (reports.matters.CALL_ANSWERED), as they are written.
CALL_KINDS = "('queue', 'agent', 'abandon', 'queue-left', 'reply-call')"
TICKET_KIND = "'call_answered'"
# Columns of calls and tickets the figures read: another column's change marks nothing.
CALL_COLUMNS = ("started_at", "ended_at", "caller_number", "route", "source", "agent")
TICKET_COLUMNS = ("reference", "type", "audio_path", "detail", "status", "created_at",
                  "department_id", "owner_id", "forwarded_at", "due_at", "answered_at",
                  "escalation_level")


def _sqlite_mark(moment: str) -> str:
    # SQLite keeps a UTC moment as 'YYYY-MM-DD HH:MM:SS.ffffff'
    return (f"INSERT INTO report_dirty (hour) SELECT substr({moment}, 1, 13) "
            f"WHERE {moment} IS NOT NULL;")


def _sqlite_changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _sqlite() -> list[str]:
    ticket_of_event = "(SELECT {} FROM tickets WHERE id = NEW.ticket_id)"
    return [
        "CREATE TRIGGER IF NOT EXISTS report_calls_insert AFTER INSERT ON calls BEGIN "
        + _sqlite_mark("NEW.started_at") + " END",
        f"CREATE TRIGGER IF NOT EXISTS report_calls_update AFTER UPDATE ON calls "
        f"WHEN {_sqlite_changed(CALL_COLUMNS)} BEGIN "
        + _sqlite_mark("OLD.started_at") + _sqlite_mark("NEW.started_at") + " END",
        "CREATE TRIGGER IF NOT EXISTS report_calls_delete AFTER DELETE ON calls BEGIN "
        + _sqlite_mark("OLD.started_at") + " END",
        f"CREATE TRIGGER IF NOT EXISTS report_call_events_insert AFTER INSERT ON call_events "
        f"WHEN NEW.kind IN {CALL_KINDS} BEGIN "
        + _sqlite_mark("(SELECT started_at FROM calls WHERE id = NEW.call_id)") + " END",
        "CREATE TRIGGER IF NOT EXISTS report_tickets_insert AFTER INSERT ON tickets BEGIN "
        + _sqlite_mark("NEW.created_at") + _sqlite_mark("NEW.forwarded_at") + " END",
        f"CREATE TRIGGER IF NOT EXISTS report_tickets_update AFTER UPDATE ON tickets "
        f"WHEN {_sqlite_changed(TICKET_COLUMNS)} BEGIN "
        + "".join(_sqlite_mark(f"{age}.{column}") for age in ("OLD", "NEW")
                  for column in ("created_at", "forwarded_at")) + " END",
        "CREATE TRIGGER IF NOT EXISTS report_tickets_delete AFTER DELETE ON tickets BEGIN "
        + _sqlite_mark("OLD.created_at") + _sqlite_mark("OLD.forwarded_at") + " END",
        f"CREATE TRIGGER IF NOT EXISTS report_ticket_events_insert AFTER INSERT ON ticket_events "
        f"WHEN NEW.kind = {TICKET_KIND} BEGIN "
        + _sqlite_mark(ticket_of_event.format("created_at"))
        + _sqlite_mark(ticket_of_event.format("forwarded_at")) + " END",
    ]


def _pg_changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c}::text IS DISTINCT FROM NEW.{c}::text" for c in columns)


def _pg_function(name: str, body: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{body} RETURN NULL; END $$")


def _postgresql() -> list[str]:
    on_change = "IF TG_OP = 'INSERT' OR TG_OP = 'DELETE' OR ({}) THEN {} END IF;"
    calls = on_change.format(
        _pg_changed(CALL_COLUMNS),
        "IF TG_OP <> 'INSERT' THEN PERFORM report_mark(OLD.started_at); END IF; "
        "IF TG_OP <> 'DELETE' THEN PERFORM report_mark(NEW.started_at); END IF;")
    tickets = on_change.format(
        _pg_changed(TICKET_COLUMNS),
        "IF TG_OP <> 'INSERT' THEN PERFORM report_mark(OLD.created_at); "
        "PERFORM report_mark(OLD.forwarded_at); END IF; "
        "IF TG_OP <> 'DELETE' THEN PERFORM report_mark(NEW.created_at); "
        "PERFORM report_mark(NEW.forwarded_at); END IF;")
    return [
        "CREATE OR REPLACE FUNCTION report_mark(moment timestamptz) RETURNS void "
        "LANGUAGE sql AS $$ INSERT INTO report_dirty (hour) "
        "SELECT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') WHERE moment IS NOT NULL $$",
        _pg_function("report_calls_changed", calls),
        _pg_function("report_call_events_changed",
                     "PERFORM report_mark((SELECT started_at FROM calls "
                     "WHERE id = NEW.call_id));"),
        _pg_function("report_tickets_changed", tickets),
        _pg_function("report_ticket_events_changed",
                     "PERFORM report_mark(t.created_at), report_mark(t.forwarded_at) "
                     "FROM tickets t WHERE t.id = NEW.ticket_id;"),
        "CREATE OR REPLACE TRIGGER report_calls AFTER INSERT OR UPDATE OR DELETE ON calls "
        "FOR EACH ROW EXECUTE FUNCTION report_calls_changed()",
        f"CREATE OR REPLACE TRIGGER report_call_events AFTER INSERT ON call_events FOR EACH ROW "
        f"WHEN (NEW.kind IN {CALL_KINDS}) EXECUTE FUNCTION report_call_events_changed()",
        "CREATE OR REPLACE TRIGGER report_tickets AFTER INSERT OR UPDATE OR DELETE ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION report_tickets_changed()",
        f"CREATE OR REPLACE TRIGGER report_ticket_events AFTER INSERT ON ticket_events "
        f"FOR EACH ROW WHEN (NEW.kind = {TICKET_KIND}) "
        "EXECUTE FUNCTION report_ticket_events_changed()",
    ]


PG_TRIGGERS = ("report_calls", "report_call_events", "report_tickets", "report_ticket_events")
SQLITE_TRIGGERS = ("report_calls_insert", "report_calls_update", "report_calls_delete",
                   "report_call_events_insert", "report_tickets_insert",
                   "report_tickets_update", "report_tickets_delete",
                   "report_ticket_events_insert")




def install(connection: Connection) -> bool:
    """Put the triggers in (again); False when the database has no report_dirty yet."""
    if not inspect(connection).has_table("report_dirty"):
        return False
    postgres = connection.dialect.name == "postgresql"
    for statement in _postgresql() if postgres else _sqlite():
        connection.execute(text(statement))
    return True


def remove(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for name, table in zip(PG_TRIGGERS, ("calls", "call_events", "tickets",
                                             "ticket_events"), strict=True):
            if inspect(connection).has_table(table):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            connection.execute(text(f"DROP FUNCTION IF EXISTS {name}_changed()"))
        connection.execute(text("DROP FUNCTION IF EXISTS report_mark(timestamptz)"))
    else:
        for name in SQLITE_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
