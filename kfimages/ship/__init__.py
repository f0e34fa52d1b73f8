"""After a build: content tags, pushes and manifest lists, manifests, bake file, CI workflow."""
