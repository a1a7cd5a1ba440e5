"""One file per model; `zoo.registry` says which recipe, data and loss each one trains with."""
