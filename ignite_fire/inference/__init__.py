"""Using a trained model: predict a folder of images and write the submission
(:mod:`~ignite_fire.inference.predict`), test-time augmentation (:mod:`~ignite_fire.inference.tta`), ONNX and
TorchScript export (:mod:`~ignite_fire.inference.export`), prediction from an ONNX export with onnxruntime
(:mod:`~ignite_fire.inference.onnx_model`) and Grad-CAM overlays (:mod:`~ignite_fire.inference.explain`).

Nothing is imported here, so ``training`` can use :mod:`~ignite_fire.inference.tta` for validation TTA without
loading the rest."""
