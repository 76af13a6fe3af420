"""``audit``: look at the data before trusting a score.

One module per concern, assembled by :func:`ignite_fire.audit.run.audit`:

* :mod:`~ignite_fire.audit.hashing`: file digests and perceptual hashes, in parallel over the cores
* :mod:`~ignite_fire.audit.duplicates`: exact and near-duplicate groups (``groups.txt`` for ``cv --groups``)
* :mod:`~ignite_fire.audit.leaks`: test images that nearly duplicate a training image
* :mod:`~ignite_fire.audit.label_issues`: likely wrong labels from a cv directory's out-of-fold probabilities
* :mod:`~ignite_fire.audit.summary`: counts, sizes, formats, unreadable files, folds crossed by groups
* :mod:`~ignite_fire.audit.report`: ``audit.html``
"""
