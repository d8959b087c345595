"""The paper reproduced by the workbench itself: ``plan`` (each study's paper setting on the offline datasets at
one profile), ``execute`` (the runs through the store, each study's notebook, its record), ``compare`` (ours
beside the paper's cells), ``page`` (index.md and index.html, made from the studies' folders alone) and
``command`` (``cobra-lab reproduce``)."""
