from django.urls import path

from room.views import invites, room

app_name = "live"

urlpatterns = [
    # Share links are /join/#<token>: the page posts the token to join/open/.
    path("deals/<int:deal_id>/invites/", invites.invite_list, name="invites"),
    path(
        "deals/<int:deal_id>/invites/<int:invite_id>/revoke/",
        invites.invite_revoke,
        name="invite-revoke",
    ),
    path("join/", invites.join, name="join"),
    path("join/open/", invites.join_open, name="join-open"),
    # Links sent before tokens moved to the fragment: redirected there.
    path("join/<str:token>/", invites.join_with_token, name="join-token"),
    # The room: the page, every action as plain HTTP, and a fresh render.
    path("room/<int:deal_id>/", room.room, name="room"),
    path("room/<int:deal_id>/act/<str:action>/", room.room_action, name="act"),
    path("room/<int:deal_id>/sync/", room.room_sync, name="sync"),
    path("room/<int:deal_id>/seen/", room.room_seen, name="seen"),
    path(
        "room/<int:deal_id>/orientation/dismiss/",
        room.room_orientation_dismiss,
        name="orientation-dismiss",
    ),
    path("room/<int:deal_id>/leave/", invites.guest_leave, name="leave"),
    path(
        "room/<int:deal_id>/earlier/<slug:list_name>/",
        room.room_earlier,
        name="earlier",
    ),
    path("room/<int:deal_id>/summary/", room.agreement_summary, name="summary"),
    path("room/<int:deal_id>/meso/suggest/", room.meso_suggest, name="meso-suggest"),
]
