"""Modifier genes of CRISPR essentiality (Rosenski, Shifman & Kaplan 2023)."""

from core.essentiality.screen import correlation_screen

__all__ = ["correlation_screen"]
