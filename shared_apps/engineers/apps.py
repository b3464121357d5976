from django.apps import AppConfig


class EngineersConfig(AppConfig):
    name = "shared_apps.engineers"
    label = "engineers"
