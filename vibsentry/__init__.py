"""vibsentry: offline industrial vibration anomaly detection.

The import namespace spans four top-level folders of the repository (see ARCHITECTURE.md):
``vibsentry.dsp`` (feature pipeline), ``vibsentry.training``, ``vibsentry.dashboard`` and this package
(CLI, config, errors, wire protocol).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
