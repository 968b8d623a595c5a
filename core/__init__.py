"""PerturbScope core engine: the science behind the dashboard.

This package never imports dash, flask or the dashboard, and it imports heavy
libraries (torch, shap, xgboost) only inside the functions that need them, so
``import core`` stays fast and UI-free.
"""

__version__ = "0.1.0"
