"""Views of the live room (room.py) and of share links and joining (invites.py)."""
