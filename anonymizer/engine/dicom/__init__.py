"""DICOM de-identification: the walk over every element, sequences kept as read, the
case's identifiers and the file writer.

``deidentify_dataset(ds, *, case_key, secret, options, known) -> (ds, report)`` and
``deidentified_file_bytes(ds)``, the file as ``save_as`` would write it.
"""

from .elements import DUMMY_TEXT as DUMMY_TEXT
from .identifiers import ID_KEYWORDS as ID_KEYWORDS
from .identifiers import IDENTIFYING_KEYWORDS as IDENTIFYING_KEYWORDS
from .identifiers import PHONE_KEYWORDS as PHONE_KEYWORDS
from .identifiers import PLACE_KEYWORDS as PLACE_KEYWORDS
from .identifiers import collect_identifiers as collect_identifiers
from .identifiers import forget_identifiers as forget_identifiers
from .walk import ENGINE_NAME as ENGINE_NAME
from .walk import ENGINE_VERSION as ENGINE_VERSION
from .walk import Action as Action
from .walk import DeidentificationReport as DeidentificationReport
from .walk import deidentify_dataset as deidentify_dataset
from .writer import IMPLEMENTATION_VERSION_NAME as IMPLEMENTATION_VERSION_NAME
from .writer import deidentified_file_bytes as deidentified_file_bytes
from .writer import deidentified_file_write as deidentified_file_write
