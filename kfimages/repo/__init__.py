"""What the repository declares: image folders, parents, image.yaml, input digests, changes."""
