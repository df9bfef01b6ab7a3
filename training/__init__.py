"""Training side of the kit: cohort simulator, loaders, integer preprocessing, models, KD.

Modules that the host tools import (signals, preprocess, alarm) depend on numpy only;
TensorFlow is imported lazily by the modules that train models.
"""
