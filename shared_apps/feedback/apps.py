from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "shared_apps.feedback"
    label = "feedback"
