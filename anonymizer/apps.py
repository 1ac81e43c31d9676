from django.apps import AppConfig
from django.core import checks


class AnonymizerConfig(AppConfig):
    name = "anonymizer"

    def ready(self):
        checks.register(word_list_check)


def word_list_check(app_configs, **kwargs):
    """Without its word list the detector flags every capitalised word: say so at start."""
    from anonymizer.engine.vocabulary import WORD_LIST_PATHS, word_list_installed

    if word_list_installed():
        return []
    return [
        checks.Warning(
            "The free-text detector has no English word list, so it flags far more than it should.",
            hint=f"apt-get install wamerican (looked for {WORD_LIST_PATHS[0]}).",
            id="anonymizer.W001",
        )
    ]
