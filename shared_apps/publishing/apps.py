from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "shared_apps.publishing"
    label = "publishing"
