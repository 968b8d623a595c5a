"""Pure figure builders: result -> plotly Figure. No callbacks, no I/O, no science."""
