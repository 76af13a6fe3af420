"""Data: where samples come from (:mod:`.datasets`), how images become tensors (:mod:`.transforms`),
how they are batched (:mod:`.loaders`), and the bundled quickstart set (:mod:`.digits`)."""
