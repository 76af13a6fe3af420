"""Seeing a run: pictures in the run directory, the same in W&B, and one page that shows them.

:func:`ignite_fire.pictures.attach.attach_pictures` adds, on the main process (rank 0) only:

=====================  ============================================  ================================
what                   in the run directory                           in W&B
=====================  ============================================  ================================
model graph (start)    ``model_graph.dot`` (+ ``.png``, ``.svg``)       image ``model_graph``
prediction gallery     ``gallery_epoch{N}.png``                       table ``val_predictions``,
                                                                      images ``val_gallery``
confusion matrix       ``confusion_matrix.png`` (best epoch)          chart ``val_confusion_matrix``
curves                 ``curves.png`` (every epoch)                   (the logged scalars)
gradients/parameters                                                  ``wandb.watch`` histograms
the page               ``index.html``
=====================  ============================================  ================================

A picture that cannot be drawn is a warning: it never stops training (:mod:`.guard`).

Modules, lowest first:

* ``fonts``: the fonts that draw the class names (CJK included), and an ASCII fallback
* ``drawing``: matplotlib pictures written atomically (gallery grid, confusion matrix, curves)
* ``guard``: :func:`guarded`, the wrapper every handler's ``attach()`` registers its callbacks through
* ``gallery``, ``confusion_matrix``, ``curves``: one Ignite handler each
* ``model_graph``: the torchviz graph (functions, and the :class:`GraphExport` handler)
* ``report``: ``index.html`` (:func:`write_index`, and the :class:`IndexPage` handler)
* ``attach``: :func:`attach_pictures`, every handler above from plain arguments
"""
