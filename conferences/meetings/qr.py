"""QR codes as inline SVG, drawn on the server (no script, no image request)."""

import re

from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str, *, label: str = "QR code for checking in") -> SafeString:
    import qrcode
    import qrcode.image.svg

    svg = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage).to_string(
        encoding="unicode"
    )
    # The stylesheet sizes it (.qr): drop the fixed millimetre size, keep the viewBox.
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', "<svg", svg)
    label = label.replace('"', "")
    svg = svg.replace("<svg", f'<svg class="qr" role="img" aria-label="{label}"', 1)
    return mark_safe(svg)
