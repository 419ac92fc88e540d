from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save


def _content_saved(sender, **kwargs) -> None:
    """Playbook content changed: this process's kept copy is out of date at
    once, every other process's once it is committed
    (``playbooks.selectors.kept_content``)."""
    from playbooks.models import PlaybookContent
    from playbooks.selectors import content_changed, forget_kept

    if issubclass(sender, PlaybookContent):
        forget_kept()
        transaction.on_commit(content_changed)


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = "Playbooks"

    def ready(self) -> None:
        post_save.connect(_content_saved, dispatch_uid="playbooks-content-saved")
        post_delete.connect(_content_saved, dispatch_uid="playbooks-content-deleted")
