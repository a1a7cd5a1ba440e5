"""The tutorials' own code, kept as the anchor that benchmarks measure the zoo against.

Each module is the tutorial as written, changed only where Keras 3 forces it; none of it is
used to train zoo models.
"""
