app_name = "anonymizer"

urlpatterns = []
