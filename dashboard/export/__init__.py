"""Exports fit for a paper: tidy numbers (CSV), PNG/SVG with provenance.

* :mod:`~dashboard.export.frames`: a figure -> the numbers it draws.
* :mod:`~dashboard.export.names`: download names and the modebar config.
* :mod:`~dashboard.export.png` and :mod:`~dashboard.export.provenance`: what
  an exported file says about where it came from.
* :mod:`~dashboard.export.render`: PNG/SVG through kaleido at size presets.
* :mod:`~dashboard.export.callbacks`: the Dash callback serving every figure
  card's export buttons; imported by the app factory, not here, so importing
  this package registers nothing and starts nothing.
"""

from dashboard.export.frames import figure_to_csv, figure_to_frame
from dashboard.export.names import export_filename, graph_config
from dashboard.export.png import PNG_SIGNATURE, add_png_text, png_size, read_png_text, set_png_dpi
from dashboard.export.provenance import (SOFTWARE, add_svg_metadata, png_text_from_provenance,
                                         read_svg_metadata)
from dashboard.export.render import IMAGE_PRESETS, figure_to_image, find_browser

__all__ = [
    "IMAGE_PRESETS",
    "PNG_SIGNATURE",
    "SOFTWARE",
    "add_png_text",
    "add_svg_metadata",
    "export_filename",
    "figure_to_csv",
    "figure_to_frame",
    "figure_to_image",
    "find_browser",
    "graph_config",
    "png_size",
    "png_text_from_provenance",
    "read_png_text",
    "read_svg_metadata",
    "set_png_dpi",
]
