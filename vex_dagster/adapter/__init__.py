"""The drift adapter: translate vectors from one embedding model's space to another's.

A learned linear map (orthogonal Procrustes, ridge least squares or a low-rank
affine map) fitted on aligned pairs - the same texts embedded by both models - then
applied to a whole file, streaming. Cheaper than re-embedding everything, and the
only option when the source texts are gone.
"""
