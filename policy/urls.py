from django.urls import path

from policy import views

app_name = "policy"

urlpatterns = [
    path("", views.policy_overview, name="overview"),
    path("evaluate/", views.policy_evaluate, name="evaluate"),
    path("rules/<str:rule_id>/", views.policy_rule, name="rule"),
    path("rules/<str:rule_id>/fix/", views.policy_fix, name="fix"),
]
