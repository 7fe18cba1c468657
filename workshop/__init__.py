"""Everything the project adds beneath the homework's mlp.py and main.py.

- data: where the reviews and word vectors come from (the ground everything stands on)
- records: the typed records that cross every seam, and the files they are kept in
- files: how every file is written (whole or not at all)
- models: the models a kept file can hold, rebuilt from their recipe
- runs/: how a sweep's runs are made (features, sweeps, results, plots, mistakes)
- studies/: what the project adds (diagnose, beyond, predict, the written answers' figures)
- grading/: grading students' completions (checks, sandbox, grade, the rubric)
- cli: the command line behind `python main.py`; bench: the measurements
"""
