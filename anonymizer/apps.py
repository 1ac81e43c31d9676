from django.apps import AppConfig


class AnonymizerConfig(AppConfig):
    name = "anonymizer"
