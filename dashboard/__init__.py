"""The PerturbScope web app (Dash). Talks to ``core`` only through ``dashboard.services``."""
