"""Small helpers for tests that inspect page layouts."""

from __future__ import annotations


def find_component(component, ident):
    """The component with id ``ident`` inside a layout tree, or None."""
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json") and (hit := find_component(child, ident)) is not None:
            return hit
    return None
