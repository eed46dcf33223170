"""Runtime: what the gateway, the simulator and training all need to use a trained model.

Loading and verifying a bundle (:mod:`.bundle`), running its ``.tflite`` models without TensorFlow
(:mod:`.model`), the anomaly score definition (:mod:`.score`) and the alarm rule (:mod:`.alarm`). Everything
here needs only NumPy and ``ai_edge_litert``; it sits below ``vibsentry.training`` in the layers (see
``ARCHITECTURE.md``) so the gateway and the nodes can use a bundle without importing training code.
"""
