"""vibsentry: offline industrial vibration anomaly detection.

The import namespace spans several top-level folders of the repository, mapped in ``pyproject.toml``
(``vibsentry.dsp`` -> ``dsp/``, ``vibsentry.runtime`` -> ``runtime/``, ...); ``ARCHITECTURE.md`` lists them and
the layers. This package holds the core (errors, atomic file writes, config, the wire protocol) and the CLI.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
