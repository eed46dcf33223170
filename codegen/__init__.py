"""C generation: the firmware's C images of what Python defines.

- :mod:`.feature_config`: FeatureParams -> ``vs_feature_config.h``;
- the model export pipeline: :mod:`.tflite_reader` (parse ``.tflite``) -> :mod:`.lower` (per-operator
  lowering in :mod:`.ops`, TFLite's quantization maths in :mod:`.quant`, arena planning in :mod:`.arena`) ->
  :mod:`.render` (``vs_model_data.[ch]``), driven by :func:`.export.export_c`;
- :mod:`.host`: compile the generated C on this machine and compare it with TFLite's reference kernels.

Above ``vibsentry.runtime`` and below ``vibsentry.training`` in the layers (see ``ARCHITECTURE.md``).
"""
