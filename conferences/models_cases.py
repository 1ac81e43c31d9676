"""Kept for migration 0002, which names the teaching cases' upload path by this module.

`upload_to` is stored in migrations by reference; the models themselves are in
`conferences/cases/models.py`.
"""

from conferences.cases.models import _case_file as _case_file
