"""Model families, one folder each: model, recipe, serving, spec (see `zoo.registry`)."""
