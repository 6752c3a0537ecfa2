"""What MLflow runs to load a registered seqlab model ("models from code"); seqlab never imports it.

Loading, MLflow has put the model's ``code/`` folder first on ``sys.path``: it holds ``seqlab_champion``,
the serving code shipped with the model. A model loaded earlier in the process left its own copy in
``sys.modules`` (perhaps from a folder since deleted, as MLflow's check of an input example does), so
that copy is forgotten and this model's is read. Logging, MLflow runs this file once in the seqlab
process that logs the model, where seqlab's own copy is the same code.
"""

import importlib
import sys
from pathlib import Path

import mlflow

SHIPPED = "seqlab_champion"

if (Path(__file__).resolve().parent / "code" / SHIPPED).is_dir():
    for name in [name for name in sys.modules if name.split(".")[0] == SHIPPED]:
        del sys.modules[name]
    PACKAGE = SHIPPED
else:
    PACKAGE = "seqlab"

mlflow.models.set_model(importlib.import_module(f"{PACKAGE}.serving.model").ChampionModel())
