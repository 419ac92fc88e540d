import uuid

from django import template

from room.scores import own_score_badge, trade_score_slot

register = template.Library()


@register.simple_tag
def client_msg_id() -> str:
    """A fresh id for one form, so a resubmitted form is applied only once."""
    return uuid.uuid4().hex


@register.simple_tag(takes_context=True)
def act_url(context, action: str) -> str:
    """Where this room's form for ``action`` posts: ``{% url 'live:act' … %}``
    reversed once per render (``RoomState.act_url``), where a list of trade
    rows reversed it three or four times per row."""
    return context["state"].act_url(action)


@register.filter
def get_item(mapping, key):
    """``mapping[key]``, trying the key as given and as a string (JSON keys)."""
    if mapping is None or not hasattr(mapping, "get"):
        return None
    value = mapping.get(key)
    return mapping.get(str(key)) if value is None else value


@register.filter
def contains(collection, item) -> bool:
    return item in (collection or ())


@register.filter
def shared_rows(state, side: str):
    return state.shared_rows(side)


@register.filter
def confirmed_by_me(state, commitment) -> bool:
    return state.confirmed_by_me(commitment)


@register.filter
def index_of(sequence, item) -> int | None:
    """1-based position of ``item`` in ``sequence`` (for preference ranks)."""
    try:
        return list(sequence).index(item) + 1
    except ValueError:
        return None


@register.filter
def can(state, action: str) -> bool:
    """``state|can:"term.set"``: whether the viewer may take that action now,
    by the rule its service enforces (``RoomState.can``)."""
    return state.can(action)


@register.filter
def overdue(state, commitment) -> bool:
    return state.is_overdue(commitment)


@register.simple_tag
def own_score(score) -> str:
    """The viewer's own score of a package, as a badge (empty without one)."""
    return own_score_badge(score)


@register.simple_tag(takes_context=True)
def trade_score(context, trade) -> str:
    """The slot of an open trade's score (``RoomState.trade_score``), which a
    term change fills again out of band."""
    return trade_score_slot(context["state"], trade)


@register.simple_tag(takes_context=True)
def package_score(context, package) -> str:
    return own_score_badge(context["state"].package_score(package))


@register.simple_tag(takes_context=True)
def suggestion_score(context, package) -> str:
    """The viewer's own score of a package the joint check suggested
    (``{"<issue id>": value}``): for the viewer's side only, like every score."""
    state = context["state"]
    return own_score_badge(
        state.score_values({int(pk): value for pk, value in package.items()})
    )


@register.filter
def nth(sequence, position):
    """``items|nth:"2"``: the 2nd item (1-based), or None past the end."""
    try:
        return list(sequence or ())[int(position) - 1]
    except (IndexError, ValueError, TypeError):
        return None
