from django.urls import path

from bulk import views

app_name = "bulk"

urlpatterns = [
    path("", views.bulk_list, name="list"),
    path("new/", views.bulk_new, name="new"),
    path("<int:job_id>/", views.bulk_job, name="job"),
    path("<int:job_id>/apply/", views.bulk_apply, name="apply"),
    path("<int:job_id>/stop/", views.bulk_stop, name="stop"),
    path("<int:job_id>/discard/", views.bulk_discard, name="discard"),
    path("<int:job_id>/resume/", views.bulk_resume, name="resume"),
    path("<int:job_id>/recheck/", views.bulk_recheck, name="recheck"),
]
