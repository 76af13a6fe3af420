"""Throughput benchmarks, run as ``python -m ignite_fire bench MODE [--option=value ...]``.

    python -m ignite_fire bench train [--model=resnet18 --image_size=64 --batch_size=32 --device=cpu --amp=False]
    python -m ignite_fire bench train --model=resnet50 --image_size=256 --batch_size=256 --device=cuda --amp=bf16
    python -m ignite_fire bench train ... --compile=True
    python -m ignite_fire bench train ... --data=FOLDER_OF_IMAGES [--cache=True]
    python -m ignite_fire bench input --data=FOLDER_OF_PHOTOS [--image_size=224]
    python -m ignite_fire bench sync [--model=resnet18]                      (CUDA only)
    python -m ignite_fire bench gpu [--json_out=gpu.json]                    (CUDA: sync + resnet50 eager/compiled)

(``python -m ignite_fire.bench MODE ...`` is the same.) One module per mode:

* :mod:`~ignite_fire.bench.train`: the same model (same initial weights, optimizer and batches)
  trained in one process by three loops (:mod:`~ignite_fire.bench.loops`), alternating for
  ``rounds`` rounds of ``steps`` steps; prints the median img/s of each and the ratios;
* :mod:`~ignite_fire.bench.input`: the input pipeline alone on one core (decode + resize with and
  without JPEG draft mode, the training pipeline, the memory cache);
* :mod:`~ignite_fire.bench.sync`: training steps under ``torch.cuda.set_sync_debug_mode("error")``;
* :mod:`~ignite_fire.bench.gpu`: the sync check, then resnet50 bf16 eager and compiled.

:mod:`~ignite_fire.bench.setup` holds the models, optimizers and batches they share.
"""
