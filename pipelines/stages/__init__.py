"""The worker's per-batch stages (:class:`pipelines.batch.Stage`), declared in ``pipelines.app``."""
