from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "tenant_apps.knowledge"
    label = "knowledge"
