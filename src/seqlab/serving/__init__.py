"""A registered seqlab model as users call it: raw inputs in, real units or probabilities out.

This package travels inside every registered model (:mod:`seqlab.champion` copies it, with the seqlab
modules it imports, as the package ``seqlab_champion``), so a model loads where seqlab is not
installed. Its modules therefore import only the standard library, numpy, pandas, keras, tensorflow
and seqlab modules that do the same (packaging checks this); never MLflow, whose adapter
:mod:`seqlab.tracking` ships beside them.
"""
