"""Vibration diagnostics: bearing kinematics, shaft speed, envelope analysis and findings (docs/diagnostics.md)."""
