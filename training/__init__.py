"""Training side of the kit (installed as `bedside.training`): Teacher/Student models, KD,
evaluation, seed study. TensorFlow is imported lazily by the modules that train models."""
