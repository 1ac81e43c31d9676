"""Synthetic DICOM datasets with planted identifiers (all invented; nothing is real PHI).

``make_image`` builds a small image whose identifiers sit at the top level, nested in
sequences the profile lists and in sequences it does not, in private blocks and inside
descriptions, so a test can check that every one of them is gone.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, SecondaryCaptureImageStorage

ROOT = "1.2.826.0.1.3680043.10.1450"  # an invented root for synthetic test UIDs


@dataclass(frozen=True)
class Identity:
    """A made-up patient, staff and hospital."""

    family: str = "Quillfeather"
    given: str = "Zandra"
    middle: str = "Orlaith"
    patient_id: str = "ZQ4471923"
    other_id: str = "QX-88120457"
    accession: str = "AC77120934"
    birth_date: str = "19470312"
    institution: str = "Larkspur Vale Infirmary"
    address: str = "41 Thistledown Road, Emberfield"
    phone: str = "555-014-2397"
    referrer: str = "Vantorrez^Ilsabet"
    performer: str = "Okonkwade^Teodric"
    operator: str = "Pellucchio^Marisenne"
    reader: str = "Haverkampf^Dovrin"
    verifier: str = "Szymborak^Elowen"
    roster: tuple[str, ...] = ("Seraphine Lindqvorn", "Dr. Barnaby Quistwell")

    @property
    def patient_name(self) -> str:
        return f"{self.family}^{self.given}^{self.middle}"

    def name_parts(self) -> list[str]:
        people = [
            self.patient_name,
            self.referrer,
            self.performer,
            self.operator,
            self.reader,
            self.verifier,
        ]
        parts = [p for person in people for p in person.split("^") if p]
        parts += [w for name in self.roster for w in name.split() if w != "Dr."]
        return parts

    def planted(self) -> list[str]:
        """Every identifying string planted by ``make_image``."""
        return [
            *self.name_parts(),
            self.patient_id,
            self.other_id,
            self.accession,
            self.birth_date,
            self.institution,
            "Thistledown",
            self.phone,
        ]


IDENTITY = Identity()


def uid(*parts: int) -> str:
    return ".".join([ROOT, *map(str, parts)])


def _item(**attrs: object) -> Dataset:
    item = Dataset()
    for key, value in attrs.items():
        setattr(item, key, value)
    return item


def _file_dataset(ds: Dataset, sop_class: str, sop_instance: str) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "LARKSPUR_CT1"
    fds = FileDataset("synthetic", ds, file_meta=meta, preamble=b"\x00" * 128)
    return fds


def make_image(
    who: Identity = IDENTITY,
    *,
    study: int = 1,
    series: int = 1,
    instance: int = 1,
    rows: int = 8,
    columns: int = 8,
    study_date: str = "20240115",
    referenced_instance: int | None = None,
) -> FileDataset:
    """A small CT image carrying ``who``'s identifiers in every kind of place."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = uid(study, series, instance)
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.ContentDate = study_date
    ds.InstanceCreationDate = study_date
    ds.StudyTime = "101500"
    ds.ContentTime = "101502.250"
    ds.AcquisitionDateTime = f"{study_date}101501.123456+0100"
    ds.AccessionNumber = who.accession
    ds.Modality = "CT"
    ds.Manufacturer = "Synthetic Medical Devices"
    ds.InstitutionName = who.institution
    ds.InstitutionAddress = who.address
    ds.ReferringPhysicianName = who.referrer
    ds.ReferringPhysicianTelephoneNumbers = who.phone
    ds.StationName = "LARKCT01"
    ds.StudyDescription = f"CT HEAD WITHOUT CONTRAST for {who.family}"
    ds.SeriesDescription = "AX 5mm BRAIN"
    ds.PerformingPhysicianName = who.performer
    ds.NameOfPhysiciansReadingStudy = who.reader
    ds.OperatorsName = who.operator
    ds.PhysiciansOfRecord = who.referrer
    ds.ManufacturerModelName = "Synthetica 64"
    ds.ReferencedStudySequence = Sequence(
        [
            _item(
                ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1",
                ReferencedSOPInstanceUID=uid(study, 900),
            )
        ]
    )
    ds.PatientName = who.patient_name
    ds.PatientID = who.patient_id
    ds.IssuerOfPatientID = "LARKSPUR"
    ds.PatientBirthDate = who.birth_date
    ds.PatientSex = "F"
    ds.PatientAge = "076Y"
    ds.PatientWeight = 61.5
    ds.OtherPatientIDsSequence = Sequence([_item(PatientID=who.other_id, TypeOfPatientID="TEXT")])
    ds.AdditionalPatientHistory = (
        f"Fall at home. Seen by Dr. {who.verifier.split('^')[0]} on 01/12/2024. "
        f"Call {who.phone}. MRN {who.patient_id}."
    )
    ds.SliceThickness = "5.0"
    ds.ProtocolName = "HEAD ROUTINE"
    ds.StudyInstanceUID = uid(study)
    ds.SeriesInstanceUID = uid(study, series)
    ds.StudyID = "ST7731"
    ds.SeriesNumber = series
    ds.InstanceNumber = instance
    ds.FrameOfReferenceUID = uid(study, 0)
    ds.ImageComments = f"Reviewed with {who.given} {who.family} family"
    ds.PatientPosition = "HFS"
    ds.ImagePositionPatient = [0, 0, instance * 5]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.RequestAttributesSequence = Sequence(
        [
            _item(
                RequestedProcedureID="RP5531902",
                ScheduledProcedureStepID="SPS5531902",
                RequestedProcedureDescription=f"CT head, {who.given} {who.family}",
                ReasonForTheRequestedProcedure="headache",
            )
        ]
    )
    # Not listed in Table E.1-1: a code sequence whose free-text meaning names people.
    ds.AnatomicRegionSequence = Sequence(
        [
            _item(
                CodeValue="T-A0100",
                CodingSchemeDesignator="SRT",
                CodeMeaning=f"Brain ({who.family})",
                # Unlisted, nested twice: a sequence naming the verifier.
                AnatomicRegionModifierSequence=Sequence(
                    [
                        _item(
                            CodeValue="G-A101",
                            CodingSchemeDesignator="SRT",
                            CodeMeaning="Left",
                            EvaluatorName=who.verifier,
                        )
                    ]
                ),
            )
        ]
    )
    ds.ContentSequence = Sequence(
        [
            _item(
                ValueType="TEXT",
                TextValue=f"Discussed with {who.roster[0]} and {who.roster[1]}; {who.institution}.",
                VerifyingObserverName=who.verifier,
            )
        ]
    )
    if referenced_instance is not None:
        ds.SourceImageSequence = Sequence(
            [
                _item(
                    ReferencedSOPClassUID=CTImageStorage,
                    ReferencedSOPInstanceUID=uid(study, series, referenced_instance),
                )
            ]
        )
    # A private block with identifiers, and a private sequence with a nested name.
    block = ds.private_block(0x0029, "SYNTHETIC PRIVATE", create=True)
    block.add_new(0x01, "LO", who.patient_id)
    block.add_new(0x02, "PN", who.patient_name)
    block.add_new(
        0x03, "SQ", Sequence([_item(PatientName=who.patient_name, InstitutionName=who.institution)])
    )
    block.add_new(0x04, "UN", f"{who.family} {who.accession}".encode("latin-1"))
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.WindowCenter, ds.WindowWidth = "40", "80"
    pixels = (np.arange(rows * columns, dtype=np.uint16) * 37 % 4096).reshape(rows, columns)
    ds.PixelData = pixels.tobytes()
    return _file_dataset(ds, CTImageStorage, ds.SOPInstanceUID)


def make_secondary_capture(*, burned_in: str = "YES", rgb: bool = True) -> FileDataset:
    """A small screen capture, the kind that carries burned-in text."""
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid(7, 7, 7)
    ds.StudyInstanceUID = uid(7)
    ds.SeriesInstanceUID = uid(7, 7)
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientName = IDENTITY.patient_name
    ds.PatientID = IDENTITY.patient_id
    ds.BurnedInAnnotation = burned_in
    ds.Rows, ds.Columns = 6, 10
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    if rgb:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.PixelData = np.full((6, 10, 3), 200, dtype=np.uint8).tobytes()
    else:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.PixelData = np.full((6, 10), 200, dtype=np.uint8).tobytes()
    return _file_dataset(ds, SecondaryCaptureImageStorage, ds.SOPInstanceUID)


def sample_file(name: str) -> str:
    """A file shipped with pydicom, by name (never downloads)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom test file {name} is not installed"
    return str(path)


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds))
    return path


@dataclass
class Series:
    """Files of a small case written under a directory, with their identity."""

    root: Path
    files: list[Path] = field(default_factory=list)


def write_case(root: Path, *, images: int = 3, who: Identity = IDENTITY) -> Series:
    """A case: one series of ``images`` images (each referencing the first) in nested folders."""
    series = Series(root)
    for n in range(1, images + 1):
        ds = make_image(who, instance=n, referenced_instance=1 if n > 1 else None)
        # Folder names like these are PHI too and must not reach the report.
        series.files.append(write(ds, root / f"{who.family}_{who.given}" / f"IMG{n:04d}.dcm"))
    return series


def zip_of(entries: dict[str, bytes], *, name: str = "export.zip") -> SimpleUploadedFile:
    """An uploaded zip holding `entries` (name inside the zip -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return SimpleUploadedFile(name, buffer.getvalue(), "application/zip")
