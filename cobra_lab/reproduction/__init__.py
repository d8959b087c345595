"""The paper reproduced by the workbench itself: ``plan`` (each study's paper setting on the offline datasets at
one profile), ``execute`` (the runs through the store, each study's notebook, its record), ``seeds`` (the
studies with a failing claim rerun at more seeds, and at which seeds each claim fails), ``compare`` (ours beside
the paper's cells), ``page`` (index.md and index.html, made from the studies' folders alone) and
``command`` (``cobra-lab reproduce``)."""
