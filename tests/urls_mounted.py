"""The dashboard's URLs under a prefix, for tests of links drawn under another URLconf."""

from django.urls import include, path

urlpatterns = [path("mounted/", include("neonadmin.urls"))]
