"""Keeping a dataset writable when its transfer syntax changes or was misdeclared."""

from pydicom.dataset import Dataset


def give_elements_their_vr(ds: Dataset) -> None:
    """Convert elements read as implicit VR so that they can be written as explicit VR.

    Some files declare an explicit transfer syntax but are encoded implicitly; pydicom
    reads them without VRs, and they cannot be written explicitly until each element has
    its dictionary VR.
    """
    if any(ds.get_item(tag).VR is None for tag in list(ds.keys())):
        for _ in ds.iterall():
            pass
