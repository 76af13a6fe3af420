"""Winning the competition score: k-fold cross-validation with out-of-fold predictions
(:mod:`~ignite_fire.competition.crossval`, :mod:`~ignite_fire.competition.oof`), per-class decisions tuned for
the weighted score (:mod:`~ignite_fire.competition.decision`), fold ensembles of a cv directory
(:mod:`~ignite_fire.competition.cv_dir`), multi-stage training (:mod:`~ignite_fire.competition.init_from`) and
pseudo-labels (:mod:`~ignite_fire.competition.pseudo_label`)."""
