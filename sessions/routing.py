"""Websocket routes of the live room (the room itself arrives with issue #3)."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
