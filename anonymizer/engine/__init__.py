"""The Django-free de-identification engine: DICOM, free text, the verifier."""
