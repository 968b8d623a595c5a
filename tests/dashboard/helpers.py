"""Small helpers for tests that inspect page layouts."""

from __future__ import annotations


def _find(component, matches):
    """The first component of a layout tree for which ``matches(component)`` holds, or None."""
    if matches(component):
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json") and (hit := _find(child, matches)) is not None:
            return hit
    return None


def find_component(component, ident):
    """The component with id ``ident`` inside a layout tree, or None."""
    return _find(component, lambda c: getattr(c, "id", None) == ident)


def find_class(component, class_name):
    """The first component whose className includes ``class_name`` inside a layout tree, or None."""
    return _find(component, lambda c: class_name in str(getattr(c, "className", "") or "").split())


def notice_text(layout) -> str:
    """The page's fallback notice (why a URL value was replaced), or ``""`` when it shows none."""
    notice = find_class(layout, "notice")
    return "" if notice is None else str(notice.children)
