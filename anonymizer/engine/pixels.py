"""Pixel data: which images need a person to look for burned-in text, blacking out
rectangles, and rendering frames to PNG with window presets.

De-identification never changes pixel data; the only change is ``black_out``, which a
person asks for after looking at the image.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut

from .encoding import give_elements_their_vr
from .profile import CODE_CLEAN_PIXEL_DATA

ULTRASOUND_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.6",  # Ultrasound Image (retired)
        "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image
        "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume
        "1.2.840.10008.5.1.4.1.1.6.3",  # Photoacoustic
        "1.2.840.10008.5.1.4.1.1.3",  # Ultrasound Multi-frame Image (retired)
        "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image
    }
)
SECONDARY_CAPTURE_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",
        "1.2.840.10008.5.1.4.1.1.7.1",
        "1.2.840.10008.5.1.4.1.1.7.2",
        "1.2.840.10008.5.1.4.1.1.7.3",
        "1.2.840.10008.5.1.4.1.1.7.4",
    }
)
# Image Type values that vendors use for screen captures and dose or report pages.
SCREEN_IMAGE_TYPES = frozenset(
    {"SCREEN SAVE", "SCREEN SHOT", "SCREENSHOT", "SCREEN CAPTURE", "CSA REPORT", "DOSE INFO"}
)
PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

# (window center, window width) in Hounsfield units.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "ct_brain": (40, 80),
    "ct_subdural": (75, 215),
    "ct_bone": (600, 2800),
    "ct_lung": (-600, 1500),
    "ct_soft_tissue": (50, 400),
}
AUTO_PRESETS = ("auto", "mr_auto")


@dataclass(frozen=True)
class Rect:
    """A rectangle in pixel coordinates: column x, row y, width and height."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if min(self.x, self.y) < 0 or min(self.width, self.height) <= 0:
            raise ValueError("a rectangle needs x, y >= 0 and a positive width and height")


def _has_pixels(ds: Dataset) -> bool:
    return any(k in ds for k in PIXEL_DATA_KEYWORDS)


def pixels_cleaned(ds: Dataset) -> bool:
    """True once a person has reviewed (and if need be blacked out) the pixel data."""
    return any(
        item.get("CodeValue") == CODE_CLEAN_PIXEL_DATA[0]
        for item in ds.get("DeidentificationMethodCodeSequence", [])
    )


def _overlay_in_pixel_data(ds: Dataset) -> bool:
    for group in range(0x6000, 0x6020, 2):
        bit_position = ds.get((group, 0x0102))
        if bit_position is not None and (group, 0x3000) not in ds and bit_position.value:
            return True
    return False


def pixel_review_reasons(ds: Dataset) -> list[str]:
    """Why a person must look at this image for burned-in identifiers (empty: no need)."""
    if not _has_pixels(ds) or pixels_cleaned(ds):
        return []
    reasons = []
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        reasons.append("burned-in-annotation")
    if str(ds.get("RecognizableVisualFeatures", "")).upper() == "YES":
        reasons.append("recognizable-visual-features")
    sop_class = str(ds.get("SOPClassUID", ""))
    if ds.get("Modality") == "US" or sop_class in ULTRASOUND_SOP_CLASSES:
        reasons.append("ultrasound")
    if sop_class in SECONDARY_CAPTURE_SOP_CLASSES:
        reasons.append("secondary-capture")
    image_type = ds.get("ImageType") or []
    if isinstance(image_type, str):
        image_type = image_type.split("\\")
    image_type = [str(v).strip().upper() for v in image_type]
    if set(image_type) & SCREEN_IMAGE_TYPES:
        reasons.append("screen-capture")
    if image_type[1:2] == ["SECONDARY"]:
        # Derived after acquisition (reformats, key images, pages): text may be drawn in.
        reasons.append("secondary-image-type")
    if _overlay_in_pixel_data(ds):
        reasons.append("overlay-in-pixel-data")
    return reasons


def needs_pixel_review(ds: Dataset) -> bool:
    return bool(pixel_review_reasons(ds))


# --- black out ---------------------------------------------------------------------------


def _decoded(ds: Dataset) -> np.ndarray:
    """Pixels as an array, with the dataset switched to uncompressed little endian."""
    transfer_syntax = ds.file_meta.TransferSyntaxUID
    if not transfer_syntax.is_little_endian:
        # Other big-endian binary values would need byte-swapping by hand.
        raise NotImplementedError("big-endian files (a retired encoding) cannot be edited")
    give_elements_their_vr(ds)
    if transfer_syntax.is_compressed:
        ds.decompress(generate_instance_uid=False)
    return ds.pixel_array


def _black_value(ds: Dataset, arr: np.ndarray) -> int:
    photometric = ds.PhotometricInterpretation
    bits = int(ds.BitsStored)
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    if photometric == "MONOCHROME1":
        return (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    if photometric == "MONOCHROME2" and signed:
        return -(1 << (bits - 1))
    # MONOCHROME2 unsigned, RGB, and the first entry of a palette.
    return 0


def black_out(
    ds: Dataset, rectangles: Iterable[Rect], *, frames: Iterable[int] | None = None
) -> Dataset:
    """Black out rectangles (in every frame, or the given ones) and mark the pixels reviewed.

    Compressed pixel data is decoded and written uncompressed (Explicit VR Little Endian);
    YBR colour is written as RGB. An empty list of rectangles records that a person looked
    and found nothing to hide. Afterwards ``needs_pixel_review`` is False.
    """
    rectangles = list(rectangles)
    if rectangles:
        arr = _decoded(ds)
        photometric = ds.PhotometricInterpretation
        if photometric.startswith("YBR"):
            # pixel_array converted YBR to RGB; store it as such.
            photometric = "RGB"
        arr = np.array(arr, copy=True)
        n_frames = int(ds.get("NumberOfFrames") or 1)
        stack = arr if n_frames > 1 else arr[np.newaxis, ...]
        black = _black_value(ds, arr)
        chosen = range(n_frames) if frames is None else [f for f in frames if 0 <= f < n_frames]
        for frame in chosen:
            for rect in rectangles:
                stack[frame, rect.y : rect.y + rect.height, rect.x : rect.x + rect.width, ...] = (
                    black
                )
        ds.set_pixel_data(
            stack if n_frames > 1 else stack[0],
            photometric,
            int(ds.BitsStored),
            generate_instance_uid=False,
        )
    _mark_pixels_cleaned(ds)
    return ds


def _mark_pixels_cleaned(ds: Dataset) -> None:
    ds.BurnedInAnnotation = "NO"
    if pixels_cleaned(ds):
        return
    item = Dataset()
    item.CodeValue, item.CodeMeaning = CODE_CLEAN_PIXEL_DATA
    item.CodingSchemeDesignator = "DCM"
    if "DeidentificationMethodCodeSequence" not in ds:
        ds.DeidentificationMethodCodeSequence = []
    ds.DeidentificationMethodCodeSequence.append(item)
    methods = list(ds.get("DeidentificationMethod") or [])
    if isinstance(ds.get("DeidentificationMethod"), str):
        methods = [ds.DeidentificationMethod]
    ds.DeidentificationMethod = [*methods, CODE_CLEAN_PIXEL_DATA[1]]


# --- rendering ---------------------------------------------------------------------------


def _frame(ds: Dataset, frame: int) -> np.ndarray:
    arr = ds.pixel_array
    n_frames = int(ds.get("NumberOfFrames") or 1)
    if not 0 <= frame < n_frames:
        raise IndexError(f"frame {frame} out of range (0..{n_frames - 1})")
    return arr[frame] if n_frames > 1 else arr


def _to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        high = low + 1
    scaled = (values.astype(np.float64) - low) / (high - low)
    return (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _first(value: object) -> float:
    return float(value[0] if isinstance(value, MultiValue) else value)


def window_for(ds: Dataset, values: np.ndarray, preset: str) -> tuple[float, float]:
    """(low, high) display limits for a preset name, or the image's own window."""
    if preset in WINDOW_PRESETS:
        center, width = WINDOW_PRESETS[preset]
    elif preset == "auto" and "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
    elif preset in AUTO_PRESETS:
        # MR has no absolute scale: show the 1st to 99th percentile.
        low, high = np.percentile(values, [1, 99])
        return float(low), float(high)
    else:
        known = [*sorted(WINDOW_PRESETS), *AUTO_PRESETS]
        raise ValueError(f"unknown window preset {preset!r}; use one of {known}")
    return center - width / 2, center + width / 2


def render_png(
    ds: Dataset,
    *,
    frame: int = 0,
    preset: str = "auto",
    center: float | None = None,
    width: float | None = None,
) -> bytes:
    """One frame as PNG bytes, windowed by preset (or by an explicit center and width)."""
    pixels = _frame(ds, frame)
    photometric = ds.PhotometricInterpretation
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)
        image = Image.fromarray(_to_uint8(rgb, 0, rgb.max() or 1), "RGB")
    elif int(ds.get("SamplesPerPixel", 1)) > 1:
        bits = int(ds.BitsStored)
        image = Image.fromarray(_to_uint8(pixels, 0, (1 << bits) - 1), "RGB")
    else:
        values = apply_modality_lut(pixels, ds)
        if center is not None and width is not None:
            low, high = center - width / 2, center + width / 2
        else:
            low, high = window_for(ds, values, preset)
        grey = _to_uint8(values, low, high)
        if photometric == "MONOCHROME1":
            grey = 255 - grey
        image = Image.fromarray(grey, "L")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
