"""Training: manifests and loaders, models, calibration, quantization, bundle, C export."""
