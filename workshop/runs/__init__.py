"""How runs are made: the data and word vectors (sources), their features (features), every
configuration with each seed (sweeps), what they write (results, plots, mistakes), and a
homework sweep from end to end (homework)."""
