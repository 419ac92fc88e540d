"""Being built: the private preparation pages (overview, sections, matrix, anchors,
evidence). Until then every route answers 404."""

from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404


overview = section = priority_save = anchor_save = _todo
evidence_add = evidence_delete = _todo
