"""How runs are made: the features of the data (features), every configuration with each seed
(sweeps), what they write (results, plots, mistakes), and a homework sweep from end to end
(homework). The data and word vectors themselves are workshop.data's."""
