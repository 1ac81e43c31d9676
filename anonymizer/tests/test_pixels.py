import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from anonymizer.engine.dicom import deidentify_dataset
from anonymizer.engine.pixels import (
    WINDOW_PRESETS,
    Rect,
    black_out,
    needs_pixel_review,
    pixel_review_reasons,
    render_png,
    window_for,
)
from anonymizer.tests.factories import make_image, make_secondary_capture, sample_file, to_bytes


def reread(ds):
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


def png(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"BurnedInAnnotation": "YES"}, "burned-in-annotation"),
        ({"RecognizableVisualFeatures": "YES"}, "recognizable-visual-features"),
        ({"Modality": "US"}, "ultrasound"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.3.1"}, "ultrasound"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7.4"}, "secondary-capture"),
        ({"ImageType": ["DERIVED", "SECONDARY", "SCREEN SAVE"]}, "screen-capture"),
        ({"ImageType": ["DERIVED", "SECONDARY", "MPR"]}, "secondary-image-type"),
        ({"ImageType": "ORIGINAL\\SECONDARY"}, "secondary-image-type"),
    ],
)
def test_images_that_may_carry_burned_in_text_need_pixel_review(change, reason):
    ds = make_image()
    for keyword, value in change.items():
        setattr(ds, keyword, value)
    assert reason in pixel_review_reasons(ds)
    assert needs_pixel_review(ds)


def test_an_ordinary_ct_image_needs_no_review():
    assert pixel_review_reasons(make_image()) == []
    ds = make_image()
    ds.ImageType = "ORIGINAL"
    assert pixel_review_reasons(ds) == []


def test_an_overlay_drawn_into_pixel_bits_needs_review():
    ds = make_image()
    ds.add_new(0x60000102, "US", 12)  # OverlayBitPosition, no OverlayData
    assert pixel_review_reasons(ds) == ["overlay-in-pixel-data"]
    ds.add_new(0x60003000, "OW", b"\x00\x00")
    assert pixel_review_reasons(ds) == []


def test_a_dataset_without_pixels_needs_no_review():
    ds = Dataset()
    ds.BurnedInAnnotation = "YES"
    assert pixel_review_reasons(ds) == []


def test_the_deidentification_report_carries_the_flag():
    _, report = deidentify_dataset(make_secondary_capture(), case_key="c", secret="s")
    assert report.needs_pixel_review
    assert report.pixel_review_reasons == ["burned-in-annotation", "secondary-capture"]
    assert report.to_dict()["needs_pixel_review"] is True


def test_black_out_clears_rectangles_and_the_flag_and_keeps_other_pixels():
    ds, _ = deidentify_dataset(make_secondary_capture(), case_key="c", secret="s")
    uid = ds.SOPInstanceUID
    black_out(ds, [Rect(x=1, y=2, width=3, height=2)])
    out = reread(ds)
    arr = out.pixel_array
    assert (arr[2:4, 1:4] == 0).all()
    assert (arr[0:2] == 200).all() and (arr[:, 4:] == 200).all()
    assert not needs_pixel_review(out)
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert out.DeidentificationMethod[-1] == "Clean Pixel Data Option"
    assert out.SOPInstanceUID == uid


def test_an_empty_black_out_records_a_review_and_leaves_pixels_alone():
    ds = make_secondary_capture(rgb=False)
    before = bytes(ds.PixelData)
    black_out(ds, [])
    assert bytes(ds.PixelData) == before
    assert not needs_pixel_review(ds)
    assert ds.DeidentificationMethod == "Clean Pixel Data Option"
    black_out(ds, [])  # twice: still one code
    assert len(ds.DeidentificationMethodCodeSequence) == 1


def test_a_single_deidentification_method_string_is_kept():
    ds = make_secondary_capture(rgb=False)
    ds.DeidentificationMethod = "Basic"
    black_out(ds, [])
    assert list(ds.DeidentificationMethod) == ["Basic", "Clean Pixel Data Option"]


@pytest.mark.parametrize(
    ("photometric", "signed", "expected"),
    [
        ("MONOCHROME2", 0, 0),
        ("MONOCHROME2", 1, -2048),
        ("MONOCHROME1", 0, 4095),
        ("MONOCHROME1", 1, 2047),
    ],
)
def test_black_is_the_darkest_value_for_the_photometric_interpretation(
    photometric, signed, expected
):
    ds = make_image()
    ds.PhotometricInterpretation = photometric
    ds.PixelRepresentation = signed
    if signed:
        ds.PixelData = np.zeros((8, 8), dtype=np.int16).tobytes()
    black_out(ds, [Rect(0, 0, 2, 2)])
    assert reread(ds).pixel_array[0, 0] == expected


def test_black_out_of_chosen_frames_only():
    ds = make_image()
    frames = np.stack([np.full((8, 8), 500, dtype=np.uint16)] * 3)
    ds.NumberOfFrames = 3
    ds.PixelData = frames.tobytes()
    black_out(ds, [Rect(0, 0, 8, 1)], frames=[1, 7])
    arr = reread(ds).pixel_array
    assert (arr[1, 0] == 0).all()
    assert (arr[0, 0] == 500).all() and (arr[2, 0] == 500).all()


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_jpeg.dcm",
        "JPEG2000.dcm",
        "MR_small_RLE.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
        "MR_small.dcm",
    ],
)
def test_compressed_and_unusual_encodings_are_blacked_out_and_written_readably(name):
    ds = pydicom.dcmread(sample_file(name))
    black_out(ds, [Rect(0, 0, 4, 4)])
    out = reread(ds)
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert out.PhotometricInterpretation in ("RGB", "MONOCHROME2")
    arr = out.pixel_array
    corner = arr[0, :4, :4] if int(out.get("NumberOfFrames") or 1) > 1 else arr[:4, :4]
    assert (corner == corner.min()).all()


def test_big_endian_files_are_refused_rather_than_corrupted():
    ds = pydicom.dcmread(sample_file("MR_small_bigendian.dcm"))
    with pytest.raises(NotImplementedError, match="big-endian"):
        black_out(ds, [Rect(0, 0, 4, 4)])


def test_rectangles_must_be_inside_out():
    with pytest.raises(ValueError):
        Rect(-1, 0, 2, 2)
    with pytest.raises(ValueError):
        Rect(0, 0, 0, 2)


@pytest.mark.parametrize("preset", [*WINDOW_PRESETS, "auto", "mr_auto"])
def test_frames_render_to_png_with_every_preset(preset):
    image = png(render_png(make_image(rows=8, columns=12), preset=preset))
    assert image.size == (12, 8)
    assert image.mode == "L"


def test_windowing_maps_the_window_to_black_and_white():
    ds = make_image(rows=2, columns=2)
    ds.PixelData = np.array(
        [[0, 1024], [1064, 4000]], dtype=np.uint16
    ).tobytes()  # HU -1024, 0, 40, 2976
    pixels = np.asarray(png(render_png(ds, preset="ct_brain")))
    assert pixels.tolist() == [[0, 0], [128, 255]]
    explicit = np.asarray(png(render_png(ds, center=1000, width=2000)))
    assert explicit[0, 0] == 0 and explicit[1, 1] == 255


def test_auto_uses_the_images_own_window_or_percentiles():
    ds = make_image()
    values = np.array([0.0, 100.0])
    assert window_for(ds, values, "auto") == (0.0, 80.0)
    ds.WindowCenter, ds.WindowWidth = ["40", "400"], ["80", "2000"]
    assert window_for(ds, values, "auto") == (0.0, 80.0)
    del ds.WindowCenter
    low, high = window_for(ds, values, "auto")
    assert low == pytest.approx(1.0) and high == pytest.approx(99.0)
    assert window_for(ds, np.array([5.0, 5.0]), "mr_auto") == (5.0, 5.0)


def test_a_flat_image_still_renders():
    ds = make_image(rows=2, columns=2)
    ds.PixelData = np.full((2, 2), 7, dtype=np.uint16).tobytes()
    assert png(render_png(ds, preset="mr_auto")).size == (2, 2)


def test_monochrome1_is_inverted():
    ds = make_image(rows=1, columns=2)
    ds.PixelData = np.array([[0, 4095]], dtype=np.uint16).tobytes()
    ds.PhotometricInterpretation = "MONOCHROME1"
    assert np.asarray(png(render_png(ds, center=1000, width=2000))).tolist() == [[255, 0]]


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("SC_rgb_jpeg.dcm", "RGB"),
        ("examples_palette.dcm", "RGB"),
        ("SC_rgb_rle_2frame.dcm", "RGB"),
        ("MR_small_jp2klossless.dcm", "L"),
    ],
)
def test_colour_palette_and_compressed_images_render(name, mode):
    ds = pydicom.dcmread(sample_file(name))
    image = png(render_png(ds, frame=int(ds.get("NumberOfFrames") or 1) - 1))
    assert image.mode == mode
    assert image.size == (ds.Columns, ds.Rows)


def test_bad_frames_and_presets_are_refused():
    ds = make_image()
    with pytest.raises(IndexError):
        render_png(ds, frame=1)
    with pytest.raises(ValueError, match="unknown window preset"):
        render_png(ds, preset="cardiac")
