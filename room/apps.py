from django.apps import AppConfig


class LiveSessionsConfig(AppConfig):
    """The live room. Labelled so it never clashes with django.contrib.sessions."""

    name = "room"
    label = "live_sessions"
    verbose_name = "Live sessions"

    def ready(self) -> None:
        from negotiation.disclosure import register_shared_cells
        from room.selectors import shared_cells

        register_shared_cells(shared_cells)

        from room.sessions import connect_receivers

        connect_receivers()
