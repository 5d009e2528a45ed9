"""Provider templates (issue 19): the SMS providers of China send only texts they approved
beforehand, by the template's id and its values in order, with the court's signature.

Every SMS the hotline queues has a kind and the values its text was made from
(SmsMessage.kind, .params); [sms] http_templates maps a kind to the provider's template:

    >>> from hotline.settings import SmsSettings
    >>> s = SmsSettings(http_templates={"rating_ask": ("SMS_5", "no=reference")})
    >>> template_for(s, "rating_ask", {"reference": "2612010001"})
    Template(id='SMS_5', names=('no',), values=('2612010001',))

With [sms] http_templates_required every kind the hotline sends must have one: check()
refuses the settings at start, naming the kind. A staff member's free text ("reply") can
only go where the provider approved a template for it (one value, the text).
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.settings import Settings, SettingsError, SmsSettings

# Kinds beside the caller texts of hotline.caller_sms, and the values each carries.
CASE_QUERY = "case_query"  # the case query's result, from the voice menu
NOTICE = "notice"  # a notice to a member of staff (hotline.notify)
REPLY = "reply"  # a staff member's own words: to an SMS, or a matter's answer
OTHER_KINDS: dict[str, frozenset[str]] = {
    CASE_QUERY: frozenset({"cases", "case_number", "stage", "department", "judge",
                           "hearing"}),
    NOTICE: frozenset({"text"}),
    REPLY: frozenset({"text", "reference"}),
}
# Free text typed by staff: refused in the console, not required to have a template.
FREE_TEXT = frozenset({REPLY})


@dataclass(frozen=True)
class Template:
    id: str
    names: tuple[str, ...]  # the provider's names of the values
    values: tuple[str, ...]

    @property
    def param_map(self) -> dict[str, str]:
        return dict(zip(self.names, self.values, strict=True))


def kinds() -> dict[str, frozenset[str]]:
    """Every kind of SMS the hotline sends, and the values each may fill in."""
    from hotline import caller_sms

    return {**{kind: values | {"court"} for kind, values in caller_sms.KINDS.items()},
            **OTHER_KINDS}


def template_for(s: SmsSettings, kind: str, params: dict[str, str]) -> Template | None:
    """The provider's template for a message of `kind` with `params`, or None."""
    spec = s.http_templates.get(kind) if kind else None
    if not spec:
        return None
    names, values = [], []
    for entry in spec[1:]:
        provider_name, _, ours = entry.partition("=")
        names.append(provider_name.strip())
        values.append(params.get((ours or provider_name).strip(), ""))
    return Template(spec[0], tuple(names), tuple(values))


def required(s: SmsSettings) -> bool:
    return s.driver == "http" and s.http_templates_required


def free_text_allowed(s: SmsSettings) -> bool:
    """Whether staff may send their own words: always, unless the provider sends only
    templates and none is set for "reply"."""
    return not required(s) or REPLY in s.http_templates


def check(settings: Settings) -> None:
    """SettingsError naming a mapped kind that does not exist, a value its kind does not
    have, or (templates required) a kind the hotline sends with no template."""
    s = settings.sms
    known = kinds()
    for kind, spec in s.http_templates.items():
        if kind not in known:
            raise SettingsError(f"[sms] http_templates: {kind!r} is not a kind of SMS "
                                f"(known: {', '.join(known)})")
        for entry in spec[1:]:
            name = entry.partition("=")[2] or entry
            if name.strip() not in known[kind]:
                raise SettingsError(
                    f"[sms] http_templates: {kind}: {name.strip()!r} is not one of its "
                    f"values ({', '.join(sorted(known[kind]))})")
    if not required(s):
        return
    missing = [kind for kind in known if kind not in s.http_templates
               and kind not in FREE_TEXT and _sent(settings, kind)]
    if missing:
        raise SettingsError(
            "[sms] http_templates_required: the provider sends only templates, and these "
            f"kinds of SMS have none in [sms.http_templates]: {', '.join(missing)}")


def _sent(settings: Settings, kind: str) -> bool:
    # A caller text the court turned off ("" in its sms_texts.toml) is never queued.
    from hotline import caller_sms

    if kind not in caller_sms.KINDS:
        return True
    return bool(caller_sms.load(settings).texts.get(kind))
