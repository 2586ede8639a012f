"""Files: a side column of the layers, importing nothing of lograd but its errors and checks.

- :mod:`~lograd.files.atomic`: the one atomic writer, output checks, bounded ZIP reading;
- :mod:`~lograd.files.json_codec`: the one JSON codec (valid JSON only, inf tagged);
- :mod:`~lograd.files.tables`: tables and their schema, type inference, encoding;
- :mod:`~lograd.files.filesets`: directories and globs of files within a memory budget, spill;
- :mod:`~lograd.files.model_files`: the model file format (plain data; the estimators build
  models from it in :mod:`lograd.estimators.persistence`);
- :mod:`~lograd.files.checkpoints`: a fit's training state, resumable.
"""
