"""Signal sources (numpy only): the simulated ICU world (`simulator`), the cohort file
(`cohort`), PhysioNet/CSV loaders (`loaders`), labelled windows (`windows`) and the patient
streams that verification and the benches send to a device (`streams`)."""
