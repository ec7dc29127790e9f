from django.urls import path

from projects.views import listing

app_name = "projects"

urlpatterns = [
    path("", listing.project_list, name="list"),
]
