"""Winning the competition score: k-fold cross-validation with out-of-fold predictions
(:mod:`~ignite_fire.competition.crossval`, :mod:`~ignite_fire.competition.oof`), per-class decisions tuned for
the weighted score (:mod:`~ignite_fire.competition.decision`) and pseudo-labels
(:mod:`~ignite_fire.competition.pseudo_label`). What training and predict read of it lives below them:
the cv directory's layout in :mod:`ignite_fire.cv_dir`, ``--init_from`` in :mod:`ignite_fire.init_from` and
applying a decision in :mod:`ignite_fire.inference.decision`."""
