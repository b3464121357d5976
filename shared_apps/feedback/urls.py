from django.urls import path

from shared_apps.feedback import views

urlpatterns = [
    path("my-ratings/", views.my_ratings, name="my_ratings"),
    path("console/satisfaction/", views.console_satisfaction, name="console_satisfaction"),
]
