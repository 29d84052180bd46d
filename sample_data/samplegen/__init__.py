"""Generator of the bundled sample delivery: fictional ITAC and OPALES extracts for Moselle.

Only the standard library and `cryptography` are used, so the generator runs without the
product installed. `sample_data/generate.py` is its command line.
"""
