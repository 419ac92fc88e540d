"""Parley's URLs plus one view that fails, for the 500 page's tests."""

from django.urls import path

from config.urls import urlpatterns as parley


def boom(request):
    raise RuntimeError("kaboom")


urlpatterns = [*parley, path("boom/", boom)]
