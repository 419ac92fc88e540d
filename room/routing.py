"""Websocket routes of the live room."""

from django.urls import path

from room.consumers import RoomConsumer

websocket_urlpatterns = [
    path("ws/room/<int:deal_id>/", RoomConsumer.as_asgi()),
]
