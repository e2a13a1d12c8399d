"""The project's URLs plus one API view that fails, to see the 500 shape."""

from django.urls import path

from pockity.urls import urlpatterns as project_urlpatterns


def broken_view(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/test-broken", broken_view), *project_urlpatterns]
